# Signs requests with botocore's SigV4 signers and sends them to the test
# server. Used by TestBotocoreCrossCheck; reads a JSON list of cases on stdin,
# prints one JSON line per case.
import http.client
import json
import sys
import urllib.parse

from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

cfg = json.load(sys.stdin)
for c in cfg["cases"]:
    creds = Credentials(c["akid"], c["secret"], c.get("token") or None)
    headers = {"X-Case": c["name"]}
    headers.update(c.get("headers") or {})
    body = (c.get("body") or "").encode()
    req = AWSRequest(method=c["method"], url=cfg["endpoint"] + c["target"], data=body, headers=headers)
    if c.get("presign"):
        SigV4QueryAuth(creds, c["service"], "us-east-1", expires=c["presign"]).add_auth(req)
    else:
        SigV4Auth(creds, c["service"], "us-east-1").add_auth(req)
    p = req.prepare()
    u = urllib.parse.urlsplit(p.url)
    target = u.path + ("?" + u.query if u.query else "")
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    conn.request(p.method, target, body=p.body, headers=dict(p.headers.items()))
    resp = conn.getresponse()
    resp.read()
    print(json.dumps({"name": c["name"], "status": resp.status, "error": resp.getheader("X-Test-Message", "")}))
    conn.close()
