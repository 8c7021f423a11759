"""moto's server, one request at a time, with per-item transaction rollback.
Usage: moto-server.py HOST PORT

Why not `python -m moto.server`: moto's TransactWriteItems rolls a failed transaction back by
restoring a copy of each whole table taken before it started.
- Served on threads, that erases the writes of any transaction that succeeded in between (a lost
  update that real DynamoDB never makes). One request at a time makes moto's transactions
  serializable, as DynamoDB's are.
- The copy costs time in proportion to the table: with 8,000 resources every commit copied all of
  them. Here a transaction saves only the items it touches and puts exactly those back when it
  fails, which is what the whole-table copy achieved.
Two more costs that AWS does not have, and that made creating 500 stacks take over 20 minutes:
- A DynamoDB Query on the table's own key sorts every item of the table, then keeps one partition.
  Here it reads only that partition (the index path is left as it is).
- Each EC2 object finds its tags by matching every tag of the account against its id, so listing N
  endpoints costs N x all tags. Here it reads its own tags directly.
One behaviour AWS has and moto lacks:
- ACM issues a DNS-validated certificate only once its validation CNAME is published; moto issues
  it after a fixed wait (MOTO_ACM_VALIDATION_WAIT) whatever DNS holds. Here a pending certificate
  turns ISSUED when every validation record is in a Route 53 zone of its account (moto's own).
Everything else is what moto.server does."""
import copy
import os
import signal
import sys

import moto.acm.models as acm
import moto.dynamodb.models as dynamodb
import moto.dynamodb.models.table as dynamodb_table
import moto.ec2.models.core as ec2_core
from moto.ec2.utils import EC2_PREFIX_TO_RESOURCE, get_prefix
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.route53.models import route53_backends
from werkzeug.serving import run_simple


class _TablesNotCopied:
    """moto's `copy` module, except that a Table "copy" is the table itself (so moto's own
    rollback is a no-op, and the per-item rollback below does the work)."""

    def __getattr__(self, name):
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value, memo=None):
        if isinstance(value, dynamodb.Table):
            return value
        return copy.deepcopy(value, memo)


def _item_key(backend, op_type, op):
    table = backend.get_table(op["TableName"])
    if op_type != "Put":
        return op["Key"]
    attrs = op["Item"]
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return key


_original_transact = dynamodb.DynamoDBBackend.transact_write_items


def _transact_write_items(self, transact_items):
    saved = []
    for item in transact_items:
        op_type, op = next(iter(item.items()))
        if op.get("TableName") not in self.tables:
            continue
        try:
            key = _item_key(self, op_type, op)
            before = self.get_item(op["TableName"], key)
        except Exception:  # a malformed op: moto itself reports it below
            continue
        saved.append((op["TableName"], key, copy.deepcopy(before.to_json()["Attributes"]) if before else None))
    try:
        return _original_transact(self, transact_items)
    except Exception:
        for table_name, key, attributes in reversed(saved):
            if attributes is None:
                if self.get_item(table_name, key) is not None:
                    self.delete_item(table_name, key)
            else:
                self.put_item(table_name, attributes)
        raise


dynamodb.copy = _TablesNotCopied()
dynamodb.DynamoDBBackend.transact_write_items = _transact_write_items

_original_query = dynamodb_table.Table.query


def _query(self, hash_key, *args, **kwargs):
    index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
    if index_name or hash_key is None:
        return _original_query(self, hash_key, *args, **kwargs)
    partition = self.items.get(hash_key)
    if partition is None:
        rows = []
    elif self.range_key_attr:
        rows = sorted(partition.values(), key=lambda item: item.range_key)
    else:
        rows = [partition]
    # moto's query keeps the items of all_items() whose hash key matches: give it only those.
    self.all_items = lambda: rows
    try:
        return _original_query(self, hash_key, *args, **kwargs)
    finally:
        del self.all_items


def _own_tags(self):
    tags = self.ec2_backend.tags.get(self.id, {}) if self.id else {}
    resource_type = EC2_PREFIX_TO_RESOURCE.get(get_prefix(self.id), "") if self.id else ""
    return [{"resource_id": self.id, "key": k, "value": v, "resource_type": resource_type} for k, v in tags.items()]


def _bare(name):
    return name.rstrip(".").lower()


def _published(account_id, name, value):
    """Whether a CNAME `name` → `value` is in any hosted zone of the account."""
    for zone in route53_backends[account_id]["aws"].zones.values():
        for record in zone.rrsets:
            if record.type == "CNAME" and _bare(record.name) == _bare(name):
                if any(_bare(v) == _bare(value) for v in record.records):
                    return True
    return False


_original_check = acm.CertBundle.check


def _check(self):
    if self.type == "AMAZON_ISSUED" and self.status == "PENDING_VALIDATION":
        account_id = self.arn.split(":")[4]
        options = self.describe()["Certificate"].get("DomainValidationOptions", [])
        records = [o["ResourceRecord"] for o in options if "ResourceRecord" in o]
        if records and all(_published(account_id, r["Name"], r["Value"]) for r in records):
            self.status = "ISSUED"
        return
    _original_check(self)


acm.CertBundle.check = _check
dynamodb_table.Table.query = _query
ec2_core.TaggedEC2Resource.get_tags = _own_tags

host, port = sys.argv[1], int(sys.argv[2])
os.environ.setdefault("MOTO_PORT", str(port))
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
app = DomainDispatcherApplication(create_backend_app)
run_simple(host, port, app, threaded=False, use_reloader=False)
