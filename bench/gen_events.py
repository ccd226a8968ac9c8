#!/usr/bin/env python3
"""Deterministic benchmark input for the JSON presets and the CSV formats.

Writes N authentication records in one of the formats `loginwatch replay
--format` reads, all drawn from one model of a week of sign-ins so every
format carries the same attack mix (the populations of the sshd benchmark
log, `../shared/bench/gen_sshd_log.py`, as a SaaS or a domain sees them):

  * brute-forcers   - few addresses, bursts of 50-300 wrong passwords on a
                      few accounts, seconds apart
  * sprayers        - one address walking a long user list, one try each,
                      every 30-120 s
  * stuffing        - many addresses, each trying many distinct accounts
                      once (leaked pairs), a few of them right
  * botnet tail     - many addresses, 1-2 tries each on random accounts
  * mfa fatigue     - a right password, then second factors failing
  * normal users    - sign-ins, rare typos followed by a success
  * noise           - records of the same log that are not sign-ins (other
                      API calls, logouts, factor enrolment, other modules):
                      the parser must read past them

Same seed + same arguments => byte-identical output (random.Random only).

Usage: gen_events.py --format FORMAT [-n RECORDS] [--seed S] [-o FILE]

FORMAT: ecs, cloudtrail, windows-security, entra-signin, okta,
lineworks-audit, cybozu-audit. Addresses are from the documentation and
benchmarking ranges (198.18.0.0/15, 192.0.2.0/24, 198.51.100.0/24,
203.0.113.0/24) or private ranges for the internal users.
"""

import argparse
import datetime
import json
import sys
from random import Random

START = datetime.datetime(2026, 11, 14, 6, 25, 0)
SPAN = 7 * 86400
FORMATS = [
    "ecs",
    "cloudtrail",
    "windows-security",
    "entra-signin",
    "okta",
    "lineworks-audit",
    "cybozu-audit",
]

# Share of the record budget per population.
SHARES = {
    "normal": 0.42,
    "brute": 0.18,
    "spray": 0.06,
    "stuffing": 0.08,
    "botnet": 0.10,
    "mfa": 0.02,
    "noise": 0.14,
}

# Outcomes of the model: (kind, ok, reason).
LOGIN_OK = ("login", True, None)
BAD_PW = ("login", False, "bad_password")
UNKNOWN = ("login", False, "unknown_user")
MFA_FAIL = ("mfa", False, "mfa_failed")
MFA_OK = ("mfa", True, None)
NOISE = ("noise", True, None)


def ip_attack(rng):
    return f"198.{rng.randint(18, 19)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def ip_doc(rng):
    net = rng.choice(["192.0.2", "198.51.100", "203.0.113"])
    return f"{net}.{rng.randint(1, 254)}"


def ip_internal(rng):
    return f"10.{rng.randint(0, 3)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def model(n, seed):
    """The abstract records: (seconds, user, ip, (kind, ok, reason))."""
    rng = Random(seed)
    users = [f"user{i:04d}" for i in range(3000)]
    staff = users[:2000]
    out = []
    budget = {k: int(n * v) for k, v in SHARES.items()}
    budget["normal"] += n - sum(budget.values())

    def t_any():
        return rng.uniform(0, SPAN)

    # Normal users: a sign-in from the user's own address; 3% a typo or two first.
    home = {u: ip_internal(rng) for u in staff}
    left = budget["normal"]
    while left > 0:
        u = rng.choice(staff)
        t = t_any()
        if rng.random() < 0.03:
            for _ in range(rng.randint(1, 2)):
                out.append((t, u, home[u], BAD_PW))
                t += rng.uniform(3, 20)
                left -= 1
        out.append((t, u, home[u], LOGIN_OK))
        left -= 1

    # Brute-forcers: 40 addresses, bursts on admin-like and real accounts.
    targets = ["admin", "administrator", "root", "test", "backup"] + staff[:20]
    left = budget["brute"]
    brute = [ip_attack(rng) for _ in range(40)]
    while left > 0:
        ip = rng.choice(brute)
        t = t_any()
        for _ in range(min(left, rng.randint(50, 300))):
            u = rng.choice(targets)
            out.append((t, u, ip, UNKNOWN if u in targets[:5] else BAD_PW))
            t += rng.uniform(0.5, 3)
            left -= 1

    # Sprayers: one address, the user list in order, one try each.
    left = budget["spray"]
    while left > 0:
        ip = ip_doc(rng)
        t = t_any()
        start = rng.randrange(len(users))
        for i in range(min(left, rng.randint(200, 800))):
            u = users[(start + i) % len(users)]
            out.append((t, u, ip, BAD_PW if u in home else UNKNOWN))
            t += rng.uniform(30, 120)
            left -= 1

    # Credential stuffing: each address tries 20-60 distinct accounts once.
    left = budget["stuffing"]
    while left > 0:
        ip = ip_attack(rng)
        t = t_any()
        for u in rng.sample(users, min(left, rng.randint(20, 60))):
            ok = u in home and rng.random() < 0.02
            out.append((t, u, ip, LOGIN_OK if ok else (BAD_PW if u in home else UNKNOWN)))
            t += rng.uniform(1, 10)
            left -= 1

    # Botnet tail: 1-2 tries from a fresh address.
    left = budget["botnet"]
    while left > 0:
        ip = ip_attack(rng)
        t = t_any()
        for _ in range(min(left, rng.randint(1, 2))):
            u = rng.choice(users)
            out.append((t, u, ip, BAD_PW if u in home else UNKNOWN))
            t += rng.uniform(1, 5)
            left -= 1

    # MFA fatigue: the password was right, then the pushes are refused.
    left = budget["mfa"]
    while left > 0:
        u = rng.choice(staff)
        ip = ip_attack(rng)
        t = t_any()
        out.append((t, u, ip, LOGIN_OK))
        left -= 1
        for _ in range(min(left, rng.randint(3, 12))):
            t += rng.uniform(5, 30)
            out.append((t, u, ip, MFA_FAIL))
            left -= 1

    # Noise: the same log's other records.
    for _ in range(budget["noise"]):
        u = rng.choice(staff)
        out.append((t_any(), u, home[u], NOISE))

    out = out[:n]
    out.sort(key=lambda r: r[0])
    return out


def iso(t):
    d = START + datetime.timedelta(seconds=t)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


def jst(t, sep):
    d = START + datetime.timedelta(seconds=t, hours=9)
    return d.strftime(f"%Y{sep}%m{sep}%d %H:%M:%S")


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"


def ecs(i, t, u, ip, what, rng):
    kind, ok, reason = what
    if kind == "noise":
        action = "file-open"
    else:
        action = "login" if kind == "login" else "mfa"
    ev = {"category": ["authentication"], "action": action}
    if kind != "noise":
        ev["outcome"] = "success" if ok else "failure"
        if reason:
            ev["reason"] = reason
    return dumps({
        "@timestamp": iso(t),
        "event": ev,
        "user": {"name": u},
        "source": {"ip": ip, "port": 1024 + i % 60000},
        "host": {"name": f"web-{i % 4}"},
        "service": {"name": "portal"},
        "user_agent": {"original": UA},
    })


def cloudtrail(i, t, u, ip, what, rng):
    kind, ok, reason = what
    rec = {
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": f"AIDA{i:016d}",
            "arn": f"arn:aws:iam::123456789012:user/{u}",
            "accountId": "123456789012",
            "userName": u,
        },
        "eventTime": iso(t)[:19] + "Z",
        "eventSource": "signin.amazonaws.com",
        "eventName": "ConsoleLogin",
        "awsRegion": "us-east-1",
        "sourceIPAddress": ip,
        "userAgent": UA,
        "requestParameters": None,
        "eventID": f"{i:08x}-0000-4000-8000-{i:012x}",
        "readOnly": False,
        "eventType": "AwsConsoleSignIn",
        "recipientAccountId": "123456789012",
    }
    if kind == "noise":
        rec["eventSource"] = "ec2.amazonaws.com"
        rec["eventName"] = "DescribeInstances"
        rec["eventType"] = "AwsApiCall"
        rec["readOnly"] = True
        rec["responseElements"] = None
    elif kind == "mfa":
        rec["eventName"] = "CheckMfa"
        rec["responseElements"] = {"CheckMfa": "Success" if ok else "Failure"}
        rec["additionalEventData"] = {"MfaType": "Virtual MFA device"}
    else:
        rec["responseElements"] = {"ConsoleLogin": "Success" if ok else "Failure"}
        rec["additionalEventData"] = {
            "LoginTo": "https://console.aws.amazon.com/console/home",
            "MobileVersion": "No",
            "MFAUsed": "No",
        }
        if reason == "bad_password":
            rec["errorMessage"] = "Failed authentication"
        elif reason == "unknown_user":
            rec["errorMessage"] = "No username found in supplied account"
            rec["userIdentity"]["userName"] = "HIDDEN_DUE_TO_SECURITY_REASONS"
    return dumps(rec)


def windows_security(i, t, u, ip, what, rng):
    kind, ok, reason = what
    d = START + datetime.timedelta(seconds=t)
    rec = {
        "EventTime": d.strftime("%Y-%m-%d %H:%M:%S"),
        "@timestamp": iso(t),
        "Hostname": f"SRV{i % 4:02d}.corp.example",
        "Keywords": -9214364837600034816,
        "EventType": "AUDIT_SUCCESS",
        "SeverityValue": 2,
        "Severity": "INFO",
        "EventID": 4624,
        "SourceName": "Microsoft-Windows-Security-Auditing",
        "ProviderGuid": "{54849625-5478-4994-A5BA-3E3B0328C30D}",
        "Version": 2,
        "Task": 12544,
        "OpcodeValue": 0,
        "RecordNumber": 100000 + i,
        "ProcessID": 664,
        "ThreadID": 5340,
        "Channel": "Security",
        "SubjectUserSid": "S-1-0-0",
        "TargetUserName": u,
        "TargetDomainName": "CORP",
        "LogonType": "3",
        "LogonProcessName": "NtLmSsp ",
        "AuthenticationPackageName": "NTLM",
        "WorkstationName": f"WS{i % 97:03d}",
        "IpAddress": ip,
        "IpPort": str(1024 + i % 60000),
    }
    if kind == "noise":
        rec["EventID"] = 4634
        del rec["IpAddress"], rec["IpPort"]
    elif not ok:
        rec["EventID"] = 4625
        rec["EventType"] = "AUDIT_FAILURE"
        rec["Status"] = "0xC000006D"
        rec["SubStatus"] = "0xC0000064" if reason == "unknown_user" else "0xC000006A"
        rec["FailureReason"] = "%%2313"
    return dumps(rec)


ENTRA_CODES = {
    None: (0, None),
    "bad_password": (50126, "Error validating credentials due to invalid username or password."),
    "unknown_user": (50034, "The user account does not exist in the directory."),
    "mfa_failed": (500121, "Authentication failed during strong authentication request."),
}


def entra_signin(i, t, u, ip, what, rng):
    kind, ok, reason = what
    if kind == "noise":
        code, text = 50074, "Strong Authentication is required."
    else:
        code, text = ENTRA_CODES[reason]
    return dumps({
        "id": f"{i:08x}-1111-4000-8000-{i:012x}",
        "createdDateTime": iso(t)[:19] + "Z",
        "userDisplayName": u,
        "userPrincipalName": f"{u}@contoso.example",
        "userId": f"{sum(map(ord, u)):08x}-2222-4000-8000-{len(u):012x}",
        "appId": "00000002-0000-0ff1-ce00-000000000000",
        "appDisplayName": "Office 365 Exchange Online",
        "ipAddress": ip,
        "clientAppUsed": "Browser",
        "conditionalAccessStatus": "notApplied",
        "isInteractive": True,
        "status": {"errorCode": code, "failureReason": text},
        "deviceDetail": {"deviceId": "", "operatingSystem": "Windows 10", "browser": "Chrome 131.0"},
        "location": {"city": "Tokyo", "countryOrRegion": "JP"},
        "userAgent": UA,
    })


def okta(i, t, u, ip, what, rng):
    kind, ok, reason = what
    if kind == "noise":
        event_type, result, why = "user.mfa.factor.activate", "SUCCESS", None
    elif kind == "mfa":
        event_type = "user.authentication.auth_via_mfa"
        result, why = ("SUCCESS", None) if ok else ("FAILURE", "INVALID_CREDENTIALS")
    else:
        event_type = "user.session.start"
        why = {None: None, "bad_password": "INVALID_CREDENTIALS", "unknown_user": "UNKNOWN_USER"}[reason]
        result = "SUCCESS" if ok else "FAILURE"
    return dumps({
        "uuid": f"{i:08x}-3333-4000-8000-{i:012x}",
        "published": iso(t),
        "eventType": event_type,
        "version": "0",
        "severity": "INFO",
        "displayMessage": "User login to Okta",
        "actor": {"id": f"00u{i % 3000:017d}", "type": "User", "alternateId": f"{u}@example.com", "displayName": u},
        "client": {
            "userAgent": {"rawUserAgent": UA, "os": "Windows 10", "browser": "CHROME"},
            "zone": "null",
            "device": "Computer",
            "ipAddress": ip,
        },
        "outcome": {"result": result, "reason": why},
        "transaction": {"type": "WEB", "id": f"W{i:015d}"},
    })


LW_DESC = {
    None: "Login success",
    "bad_password": "Login failed (Incorrect password)",
    "unknown_user": "Login failed (ID does not exist)",
    "mfa_failed": "Login failed (2-step verification failed)",
}


def csv_cell(s):
    return f'"{s}"' if "," in s or '"' in s else s


def lineworks(i, t, u, ip, what, rng):
    kind, ok, reason = what
    desc = "Logout" if kind == "noise" else LW_DESC[reason]
    who = f"{u.capitalize()}({u}@example.com)"
    method = "" if kind == "noise" else "ID/Password"
    svc = "PC Web" if i % 3 else "Mobile App"
    return f"{jst(t, '-')},{csv_cell(who)},{desc},{svc},{ip},{method}"


def cybozu(i, t, u, ip, what, rng):
    kind, ok, reason = what
    if kind == "noise":
        return f"{jst(t, '/')},{u},INFO,kintone,App,view record,SUCCESS,,{ip}"
    if reason == "unknown_user":
        return f"{jst(t, '/')},nobody,INFO,cybozu.com,Authentication,login,FAILED,Login name: {u},{ip}"
    result = "SUCCESS" if ok else "FAILED"
    return f"{jst(t, '/')},{u},INFO,cybozu.com,Authentication,login,{result},,{ip}"


WRITERS = {
    "ecs": (ecs, None),
    "cloudtrail": (cloudtrail, None),
    "windows-security": (windows_security, None),
    "entra-signin": (entra_signin, None),
    "okta": (okta, None),
    "lineworks-audit": (lineworks, "\ufeffDate,User,Description,Service Type,IP Address,Login method"),
    "cybozu-audit": (cybozu, "日時,ユーザー,レベル,サービス,モジュール,アクション,結果,補足,IPアドレス"),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--format", required=True, choices=FORMATS)
    ap.add_argument("-n", type=int, default=1_000_000, help="records (default 1,000,000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-o", "--output", default="-")
    a = ap.parse_args()
    write, header = WRITERS[a.format]
    rng = Random(a.seed + 1)
    out = sys.stdout if a.output == "-" else open(a.output, "w", encoding="utf-8", newline="\n")
    if header:
        out.write(header + "\n")
    buf = []
    for i, (t, u, ip, what) in enumerate(model(a.n, a.seed)):
        buf.append(write(i, t, u, ip, what, rng))
        if len(buf) >= 10000:
            out.write("\n".join(buf) + "\n")
            buf.clear()
    if buf:
        out.write("\n".join(buf) + "\n")
    if out is not sys.stdout:
        out.close()


if __name__ == "__main__":
    main()
