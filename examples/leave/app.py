"""Leave register: a back-office plugin written in Python.

Leave types carry an annual entitlement in working days. An employee requests leave
for a period; another person holding ``leave.approve`` approves or rejects it; the
balance of a person and year is the entitlement less approved and pending days.

Storage (JSON values):

- ``type/<code>``: a leave type ``{code, name, annual-days}``
- ``request/<id>``: a request, ids ``r-000001`` upwards in request order
- ``person/<employee>/<year>/<id>``: index of a person's requests by year
- ``seq/request``: the last request number handed out
"""

import datetime
from typing import Any, Dict, List, Optional, Tuple

from backoffice import (
    Conflict,
    Forbidden,
    Handler,  # noqa: F401 - componentize-py exports this class
    InvalidInput,
    NotFound,
    context,
    events,
    log,
    operation,
    storage,
)

TYPE = "type/"
REQUEST = "request/"
PERSON = "person/"
SEQ = "seq/request"


# --- pure rules --------------------------------------------------------------


def parse_date(input: Dict[str, Any], field: str) -> datetime.date:
    value = input.get(field)
    if not isinstance(value, str) or len(value) != 10:
        raise InvalidInput(f"'{field}' must be an ISO date such as 2026-07-01, not {value!r}")
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"'{field}' must be an ISO date such as 2026-07-01, not {value!r}") from None


def working_days(start: datetime.date, end: datetime.date) -> int:
    """Monday to Friday from ``start`` to ``end`` inclusive."""
    total = (end - start).days + 1
    weeks, rest = divmod(total, 7)
    days = weeks * 5
    for i in range(rest):
        if (start.weekday() + i) % 7 < 5:
            days += 1
    return days


def overlaps(a: Dict[str, Any], start: datetime.date, end: datetime.date) -> bool:
    return a["start"] <= end.isoformat() and start.isoformat() <= a["end"]


# --- storage glue ------------------------------------------------------------


def person() -> Optional[str]:
    """The signed-in person calling (user or API token), or None for the host/operator."""
    if context.caller_kind() == "system":
        return None
    return context.caller_id()


def leave_type(code: str) -> Dict[str, Any]:
    found = storage.get(TYPE + code)
    if found is None:
        raise NotFound(f"there is no leave type '{code}'; create it with create-type or pick one from list-types")
    return found


def requests_of(employee: str, year: int) -> List[Dict[str, Any]]:
    out = []
    for key, _ in storage.scan(prefix=f"{PERSON}{employee}/{year}/"):
        record = storage.get(REQUEST + key.rsplit("/", 1)[-1])
        if record is not None:
            out.append(record)
    return out


def used(records: List[Dict[str, Any]], code: str) -> Tuple[int, int]:
    approved = sum(r["days"] for r in records if r["type"] == code and r["status"] == "approved")
    pending = sum(r["days"] for r in records if r["type"] == code and r["status"] == "pending")
    return approved, pending


def pending_request(id: str) -> Dict[str, Any]:
    record = storage.get(REQUEST + id)
    if record is None:
        raise NotFound(f"there is no leave request '{id}'; list-requests shows the ids")
    if record["status"] != "pending":
        raise Conflict(f"request {id} is already {record['status']}; only pending requests can be decided")
    return record


def decide(record: Dict[str, Any], status: str) -> Dict[str, Any]:
    """Check the second-person rule and mark ``record`` decided by the caller."""
    decider = person()
    if decider is None:
        raise Forbidden(
            "a leave request is decided by a signed-in person (a user or their API token), "
            "not by the host or an operator at the command line"
        )
    if decider == record["employee"]:
        raise Forbidden(
            f"{decider} cannot decide their own request {record['id']}; "
            "another person holding leave.approve must approve or reject it"
        )
    record["status"] = status
    record["decided-by"] = decider
    record["decided-at"] = context.now().isoformat().replace("+00:00", "Z")
    storage.put(REQUEST + record["id"], record)
    return record


# --- operations --------------------------------------------------------------


@operation("create-type")
def create_type(input: Dict[str, Any]) -> Dict[str, Any]:
    code = input["code"]
    if storage.get(TYPE + code) is not None:
        raise Conflict(f"leave type '{code}' already exists")
    record = {"code": code, "name": input["name"], "annual-days": input["annual-days"]}
    storage.put(TYPE + code, record)
    log.info(f"leave type {code} created with {record['annual-days']} days a year")
    return record


@operation("list-types")
def list_types(_: Dict[str, Any]) -> Dict[str, Any]:
    return {"types": [value for _, value in storage.scan(prefix=TYPE)]}


@operation("request")
def request(input: Dict[str, Any]) -> Dict[str, Any]:
    kind = leave_type(input["type"])
    start, end = parse_date(input, "start"), parse_date(input, "end")
    if end < start:
        raise InvalidInput(f"'end' {end} is before 'start' {start}")
    if start.year != end.year:
        raise InvalidInput(
            f"a request covers one calendar year; split {start} to {end} at {start.year}-12-31"
        )
    days = working_days(start, end)
    if days == 0:
        raise InvalidInput(f"{start} to {end} has no working day (Monday to Friday)")

    caller = person()
    employee = input.get("employee") or caller
    if employee is None:
        raise InvalidInput('an operator must name the employee: add "employee": "<username>"')
    if employee != caller and caller is not None and not context.has_permission("leave.admin"):
        raise Forbidden(f"{caller} may request leave only for themselves; leave.admin may request for others")

    year = start.year
    records = requests_of(employee, year)
    for other in records:
        if other["status"] != "rejected" and overlaps(other, start, end):
            raise Conflict(
                f"{employee} already has request {other['id']} ({other['status']}) "
                f"from {other['start']} to {other['end']}, which overlaps"
            )
    approved, pending = used(records, kind["code"])
    left = kind["annual-days"] - approved - pending
    if days > left:
        raise InvalidInput(
            f"{start} to {end} is {days} working days of {kind['code']}, but {employee} has "
            f"{left} of {kind['annual-days']} left in {year} ({approved} approved, {pending} pending)"
        )

    number = (storage.get(SEQ) or 0) + 1
    storage.put(SEQ, number)
    id = f"r-{number:06d}"
    record = {
        "id": id,
        "employee": employee,
        "type": kind["code"],
        "start": start.isoformat(),
        "end": end.isoformat(),
        "days": days,
        "note": input.get("note", ""),
        "status": "pending",
        "requested-by": context.caller_id(),
        "decided-by": None,
        "decided-at": None,
        "reason": None,
    }
    storage.put(REQUEST + id, record)
    storage.put(f"{PERSON}{employee}/{year}/{id}", True)
    return record


@operation("approve")
def approve(input: Dict[str, Any]) -> Dict[str, Any]:
    record = decide(pending_request(input["id"]), "approved")
    events.emit(
        "leave.approved",
        {k: record[k] for k in ("id", "employee", "type", "start", "end", "days", "decided-by")},
    )
    return record


@operation("reject")
def reject(input: Dict[str, Any]) -> Dict[str, Any]:
    record = pending_request(input["id"])
    record["reason"] = input["reason"]
    return decide(record, "rejected")


@operation("list-requests")
def list_requests(input: Dict[str, Any]) -> Dict[str, Any]:
    status, employee = input.get("status"), input.get("employee")
    return {
        "requests": [
            r
            for _, r in storage.scan(prefix=REQUEST)
            if (status is None or r["status"] == status) and (employee is None or r["employee"] == employee)
        ]
    }


@operation("balance")
def balance(input: Dict[str, Any]) -> Dict[str, Any]:
    caller = person()
    employee = input.get("employee") or caller
    if employee is None:
        raise InvalidInput('an operator must name the employee: add "employee": "<username>"')
    if employee != caller and caller is not None and not context.has_permission("leave.approve"):
        raise Forbidden(f"{caller} may read only their own balance; leave.approve may read others'")
    year = input.get("year") or context.today().year
    records = requests_of(employee, year)
    types = []
    for _, kind in storage.scan(prefix=TYPE):
        approved, pending = used(records, kind["code"])
        types.append(
            {
                "type": kind["code"],
                "entitlement": kind["annual-days"],
                "approved": approved,
                "pending": pending,
                "remaining": kind["annual-days"] - approved - pending,
            }
        )
    return {"employee": employee, "year": year, "types": types}
