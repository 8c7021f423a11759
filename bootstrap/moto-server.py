"""moto's server, one request at a time. Usage: moto-server.py HOST PORT

Why not `python -m moto.server`: it serves requests on threads, and moto's TransactWriteItems
rolls a failed transaction back by restoring a copy of the whole table taken before it started,
which erases the writes of any transaction that succeeded in between (a lost update that real
DynamoDB never makes). One request at a time makes moto's transactions serializable, as
DynamoDB's are. Everything else is what moto.server does."""
import os
import signal
import sys

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

host, port = sys.argv[1], int(sys.argv[2])
os.environ.setdefault("MOTO_PORT", str(port))
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
app = DomainDispatcherApplication(create_backend_app)
run_simple(host, port, app, threaded=False, use_reloader=False)
