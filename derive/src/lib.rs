//! `#[derive(Declared)]` on a kind's typed spec: each field's declaration (its rule, whether it is
//! create-only, a set, sensitive or left to AWS, and its Terraform attribute) becomes the kind's
//! `FieldDecl` table, from which the schema, the diff rules, the docs and the import mapping come.
//!
//! ```ignore
//! #[derive(Declared, serde::Deserialize, serde::Serialize)]
//! #[serde(rename_all = "camelCase", deny_unknown_fields)]
//! pub struct LogGroupSpec {
//!     /// How many days events are kept.
//!     #[field(shape = Shape::Enum(RETENTION_DAYS), tf = "retention_in_days")]
//!     pub retention_in_days: Option<i64>,
//! }
//! ```
//!
//! Field attributes (`#[field(…)]`):
//! - `shape = EXPR`: its rule, a `crate::schema::Shape` (a `String` defaults to any string, a
//!   `bool` to true or false, `tags` to the tag rule, and any other type to the mapping its own
//!   `#[derive(Declared)]` declares: `Type::shape()`, which a list's rule names too);
//! - `create_only`: AWS changes it only by a new object;
//! - `set`: a list compared as a set;
//! - `sensitive`: shown as `(sensitive)` everywhere;
//! - `tf = "name"`: the Terraform attribute it is imported from;
//! - `aws_default = VALUE`: what AWS sets when it is left out (an import leaves that value out);
//! - `doc = "…"`: what it is, for the docs' field table (else its `///` comment);
//! - `filled`: an `Option` the kind fills with steward's default when the spec leaves it out
//!   (`TypedKind::compared`), so that it is compared all the same.
//!
//! An `Option` field is optional and left to AWS when the spec leaves it out (never drift), unless
//! it is `filled`; a field with `#[serde(default)]` is optional with steward's default; any other
//! is required.

use proc_macro::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Expr, Fields, LitStr, Type, parse_macro_input};

#[proc_macro_derive(Declared, attributes(field))]
pub fn derive_declared(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand(&input) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// What one `#[field(…)]` says.
#[derive(Default)]
struct FieldAttrs {
    shape: Option<Expr>,
    create_only: bool,
    set: bool,
    sensitive: bool,
    terraform: Option<LitStr>,
    aws_default: Option<Expr>,
    doc: Option<LitStr>,
    filled: bool,
}

fn field_attrs(field: &syn::Field) -> syn::Result<FieldAttrs> {
    let mut out = FieldAttrs::default();
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("field")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("shape") {
                out.shape = Some(meta.value()?.parse()?);
            } else if meta.path.is_ident("create_only") {
                out.create_only = true;
            } else if meta.path.is_ident("set") {
                out.set = true;
            } else if meta.path.is_ident("sensitive") {
                out.sensitive = true;
            } else if meta.path.is_ident("tf") {
                out.terraform = Some(meta.value()?.parse()?);
            } else if meta.path.is_ident("aws_default") {
                out.aws_default = Some(meta.value()?.parse()?);
            } else if meta.path.is_ident("doc") {
                out.doc = Some(meta.value()?.parse()?);
            } else if meta.path.is_ident("filled") {
                out.filled = true;
            } else {
                return Err(meta.error(
                    "expected shape = …, create_only, set, sensitive, tf = \"…\", aws_default = …, doc = \"…\" or filled",
                ));
            }
            Ok(())
        })?;
    }
    Ok(out)
}

/// The `///` lines of a field, joined.
fn doc_of(attrs: &[syn::Attribute]) -> String {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => Some(s.value().trim().to_string()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    lines.join(" ")
}

/// The last segment of a type's path (`Option`, `String`, `bool`), and its first type argument.
fn type_parts(ty: &Type) -> (String, Option<&Type>) {
    let Type::Path(path) = ty else { return (String::new(), None) };
    let Some(last) = path.path.segments.last() else { return (String::new(), None) };
    let argument = match &last.arguments {
        syn::PathArguments::AngleBracketed(args) => args.args.iter().find_map(|a| match a {
            syn::GenericArgument::Type(t) => Some(t),
            _ => None,
        }),
        _ => None,
    };
    (last.ident.to_string(), argument)
}

fn has_serde_default(field: &syn::Field) -> bool {
    field.attrs.iter().filter(|a| a.path().is_ident("serde")).any(|a| quote!(#a).to_string().contains("default"))
}

fn lower_camel(snake: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in snake.trim_start_matches("r#").chars() {
        match c {
            '_' => upper = true,
            c if upper => {
                out.extend(c.to_uppercase());
                upper = false;
            }
            c => out.push(c),
        }
    }
    out
}

fn expand(input: &DeriveInput) -> syn::Result<proc_macro2::TokenStream> {
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new_spanned(input, "Declared is derived for structs with named fields"));
    };
    let Fields::Named(fields) = &data.fields else {
        return Err(syn::Error::new_spanned(input, "Declared is derived for structs with named fields"));
    };
    let mut decls = Vec::new();
    for field in &fields.named {
        let ident = field.ident.as_ref().expect("named");
        let name = lower_camel(&ident.to_string());
        let attrs = field_attrs(field)?;
        let (outer, inner) = type_parts(&field.ty);
        let optional = outer == "Option";
        let value_type = if optional { inner.map(type_parts).map(|(t, _)| t).unwrap_or_default() } else { outer };
        let shape = match (&attrs.shape, value_type.as_str(), name.as_str()) {
            (Some(shape), _, _) => quote!(#shape),
            (None, _, "tags") => quote!(crate::schema::tags()),
            (None, "String", _) => quote!(crate::schema::any_string()),
            (None, "bool", _) => quote!(crate::schema::Shape::Bool),
            // Any other type is a nested declared struct: its shape is its own declaration.
            (None, _, _) => {
                let nested = if optional { inner } else { Some(&field.ty) };
                let nested = nested.ok_or_else(|| syn::Error::new_spanned(field, "give the field's type"))?;
                quote!(<#nested as crate::kinds::definition::Declared>::shape())
            }
        };
        let required = !optional && !has_serde_default(field);
        let (create_only, set, sensitive) = (attrs.create_only, attrs.set, attrs.sensitive);
        let left_to_aws = optional && !attrs.filled;
        let terraform = match &attrs.terraform {
            Some(t) => quote!(Some(#t)),
            None => quote!(None),
        };
        let aws_default = match &attrs.aws_default {
            Some(value) => quote!(Some(::serde_json::json!(#value))),
            None => quote!(None),
        };
        let doc = attrs.doc.as_ref().map(LitStr::value).unwrap_or_else(|| doc_of(&field.attrs));
        decls.push(quote! {
            crate::kinds::definition::FieldDecl {
                field: crate::schema::Field { name: #name, shape: #shape, required: #required },
                create_only: #create_only,
                set: #set,
                sensitive: #sensitive,
                left_to_aws: #left_to_aws,
                terraform: #terraform,
                aws_default: #aws_default,
                doc: #doc,
            }
        });
    }
    let ty = &input.ident;
    Ok(quote! {
        impl crate::kinds::definition::Declared for #ty {
            fn fields() -> ::std::vec::Vec<crate::kinds::definition::FieldDecl> {
                #[allow(unused_imports)]
                use crate::schema::*;
                ::std::vec![#(#decls),*]
            }
        }
    })
}
