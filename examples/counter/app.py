"""The smallest Python plugin: one operation that reads and writes storage."""

from backoffice import Handler, operation, storage  # noqa: F401 - Handler is the export


@operation("touch")
def touch(input):
    count = (storage.get(input["key"]) or 0) + 1
    storage.put(input["key"], count)
    return {"count": count}
