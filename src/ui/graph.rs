//! The dependency graph of a stack, laid out for an SVG: one column per level of the pass
//! (what is referenced comes first, so edges run left to right), resources removed from the
//! desired state in a last column. A level of more than `MOST_ROWS` resources (a whole seed's
//! network, some twenty objects) wraps into side-by-side columns, its kinds kept together, so
//! that the graph stays about a screen high. Pure: positions and paths only, no layout engine.

use crate::model::ResourceKey;
use crate::status::Phase;

pub const NODE_WIDTH: u32 = 200;
pub const NODE_HEIGHT: u32 = 46;
const COLUMN_GAP: u32 = 46;
const ROW_GAP: u32 = 14;
const MARGIN: u32 = 10;
/// The most resources one column holds before its level wraps into another.
const MOST_ROWS: usize = 8;

/// One resource as the graph shows it.
#[derive(Debug, Clone)]
pub struct GraphInput {
    pub key: ResourceKey,
    pub phase: Phase,
    /// Fields that differ from the desired state now.
    pub drifted: usize,
    pub removed: bool,
    /// The resources it references.
    pub depends_on: Vec<ResourceKey>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub key: ResourceKey,
    pub x: u32,
    pub y: u32,
    pub phase: Phase,
    pub drifted: usize,
    pub removed: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    pub from: ResourceKey,
    pub to: ResourceKey,
    /// An SVG path from the dependency's right side to the dependent's left side.
    pub path: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Graph {
    pub width: u32,
    pub height: u32,
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

/// Lays out `levels` (each a column, top to bottom in the given order).
pub fn layout(levels: &[Vec<GraphInput>]) -> Graph {
    let mut graph = Graph::default();
    let columns: Vec<Vec<&GraphInput>> = levels
        .iter()
        .flat_map(|level| {
            let mut level: Vec<&GraphInput> = level.iter().collect();
            // Kinds together (in the pass's order), so that a wrapped level reads by kind.
            level.sort_by_key(|i| i.key.kind);
            level.chunks(MOST_ROWS).map(<[_]>::to_vec).collect::<Vec<_>>()
        })
        .collect();
    for (c, level) in columns.iter().enumerate() {
        let x = MARGIN + c as u32 * (NODE_WIDTH + COLUMN_GAP);
        for (r, input) in level.iter().enumerate() {
            let y = MARGIN + r as u32 * (NODE_HEIGHT + ROW_GAP);
            graph.nodes.push(Node {
                key: input.key.clone(),
                x,
                y,
                phase: input.phase,
                drifted: input.drifted,
                removed: input.removed,
            });
        }
    }
    let at = |key: &ResourceKey| graph.nodes.iter().find(|n| &n.key == key).map(|n| (n.x, n.y));
    let mut edges = Vec::new();
    for input in columns.iter().flatten() {
        let Some((tx, ty)) = at(&input.key) else { continue };
        for dep in &input.depends_on {
            let Some((fx, fy)) = at(dep) else { continue };
            let (x1, y1) = (fx + NODE_WIDTH, fy + NODE_HEIGHT / 2);
            let (x2, y2) = (tx, ty + NODE_HEIGHT / 2);
            let bend = (x2.saturating_sub(x1) / 2).max(20);
            let path = format!("M{x1},{y1} C{},{y1} {},{y2} {x2},{y2}", x1 + bend, x2.saturating_sub(bend));
            edges.push(Edge { from: dep.clone(), to: input.key.clone(), path });
        }
    }
    graph.edges = edges;
    graph.width = graph.nodes.iter().map(|n| n.x + NODE_WIDTH).max().unwrap_or(0) + MARGIN;
    graph.height = graph.nodes.iter().map(|n| n.y + NODE_HEIGHT).max().unwrap_or(0) + MARGIN;
    graph
}

/// A name as a node shows it: cut to what fits (the node's tooltip has it whole).
pub fn fitted(name: &str) -> String {
    const FITS: usize = 27;
    match name.char_indices().nth(FITS - 1) {
        Some((cut, _)) if name.chars().count() > FITS => format!("{}…", &name[..cut]),
        _ => name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;

    fn input(name: &str, deps: &[&str]) -> GraphInput {
        GraphInput {
            key: ResourceKey::new("s", Kind::EcsCluster, name),
            phase: Phase::Ready,
            drifted: 0,
            removed: false,
            depends_on: deps.iter().map(|d| ResourceKey::new("s", Kind::EcsCluster, d)).collect(),
        }
    }

    #[test]
    fn levels_become_columns_and_references_become_edges_left_to_right() {
        let graph = layout(&[vec![input("a", &[]), input("b", &[])], vec![], vec![input("c", &["a", "b"])]]);
        let place: Vec<(&str, u32, u32)> = graph.nodes.iter().map(|n| (n.key.name.as_str(), n.x, n.y)).collect();
        assert_eq!(place, [("a", 10, 10), ("b", 10, 70), ("c", 256, 10)], "an empty level takes no column");
        assert_eq!(graph.edges.len(), 2);
        assert_eq!(graph.edges[0].path, "M210,33 C233,33 233,33 256,33");
        assert!(graph.edges.iter().all(|e| e.to.name == "c"));
        assert_eq!((graph.width, graph.height), (466, 126));
        assert_eq!(layout(&[]), Graph { width: 10, height: 10, ..Graph::default() });
    }

    #[test]
    fn a_long_level_wraps_into_columns_of_at_most_eight_with_its_kinds_together() {
        let mut level: Vec<GraphInput> = (0..10).map(|i| input(&format!("n{i}"), &[])).collect();
        level.insert(3, GraphInput { key: ResourceKey::new("s", Kind::Stack, "s"), ..input("x", &[]) });
        let graph = layout(&[level, vec![input("c", &["n9"])]]);
        let xs: Vec<u32> = graph.nodes.iter().map(|n| n.x).collect();
        assert_eq!(xs, [[10; 8].as_slice(), &[256; 3], &[502]].concat());
        assert_eq!(graph.nodes[0].key.kind, Kind::Stack, "kinds in the pass's order");
        assert_eq!(graph.height, 10 + 8 * 60 - 14 + 10);
        assert_eq!(graph.edges.len(), 1);
    }

    #[test]
    fn long_names_are_cut_to_fit() {
        assert_eq!(fitted("mmweb-cname"), "mmweb-cname");
        assert_eq!(fitted("mmweb-certificate-validation"), "mmweb-certificate-validati…");
        assert_eq!(fitted(&"é".repeat(27)), "é".repeat(27));
    }

    #[test]
    fn a_reference_to_something_not_drawn_draws_no_edge() {
        let graph = layout(&[vec![input("c", &["gone"])]]);
        assert!(graph.edges.is_empty());
    }
}
