-- Postgres settings for the API's database, each with its reason (issue 16; measured by bench/api_scale.py).
-- They are per database, so they take effect on new connections without a restart:
--
--     psql "$ADMIN_URL" -v db=emgapiv2 -f deployment/postgres/api-settings.sql
--
-- If the flows and the API share one database, apply them with ALTER ROLE to the API's role instead.
-- Server-wide settings (memory) are in postgresql.api.conf.

-- The tables and indexes live on SSD or in the page cache: a random page costs about what a sequential one does.
-- With the default 4.0 the planner walks a whole index in list order, or hashes a table, rather than probe an
-- index for the few rows a page needs.
ALTER DATABASE :"db" SET random_page_cost = 1.1;

-- The API's queries take milliseconds. JIT compiles any query the planner costs above jit_above_cost
-- (100,000, which an estimate over a million runs passes easily) and adds 20-100 ms of compilation to it.
ALTER DATABASE :"db" SET jit = off;

-- Starting parallel workers costs a few ms per query and takes cores from concurrent requests; a page of 25
-- rows never gains from them. (Bulk work runs in the flows, on their own connections.)
ALTER DATABASE :"db" SET max_parallel_workers_per_gather = 0;

-- A search ordered by relevance sorts its matches: 16 MB keeps that sort in memory.
ALTER DATABASE :"db" SET work_mem = '16MB';

-- A request that runs away (a pathological filter) is cut off rather than holding a connection and a core;
-- the API answers it with an error. gunicorn's own timeout is 120 s.
ALTER DATABASE :"db" SET statement_timeout = '30s';

-- A connection left idle inside a transaction (a crashed worker) releases its locks.
ALTER DATABASE :"db" SET idle_in_transaction_session_timeout = '60s';
