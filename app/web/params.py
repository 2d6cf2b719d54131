"""Path and query parameters that are database integers.

Ids and sequence numbers outside 1..2**31-1 are refused as a bad request (400) before they reach a query
(PostgreSQL would fail on them with a 500).
"""

from __future__ import annotations

from typing import Annotated

from litestar.params import PathParameter, QueryParameter

DB_INT_MAX = 2**31 - 1
PathId = Annotated[int, PathParameter(ge=1, le=DB_INT_MAX)]
QueryId = Annotated[int | None, QueryParameter(ge=1, le=DB_INT_MAX)]
QuerySeq = Annotated[int, QueryParameter(ge=0, le=DB_INT_MAX)]
OptionalQuerySeq = Annotated[int | None, QueryParameter(ge=0, le=DB_INT_MAX)]
