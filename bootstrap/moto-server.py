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
Everything else is what moto.server does."""
import copy
import os
import signal
import sys

import moto.dynamodb.models as dynamodb
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
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

host, port = sys.argv[1], int(sys.argv[2])
os.environ.setdefault("MOTO_PORT", str(port))
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
app = DomainDispatcherApplication(create_backend_app)
run_simple(host, port, app, threaded=False, use_reloader=False)
