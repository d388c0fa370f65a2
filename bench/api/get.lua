-- SPDX-License-Identifier: MIT
-- wrk script of bench/api.sh: GET /report?ip= over the addresses that
-- post.lua seeded (the same pool, the same mapping per wrk thread).
--
-- usage: wrk ... -s get.lua URL -- POOL

local threads = 0

function setup(thread)
   thread:set("tid", threads)
   threads = threads + 1
end

local pool
local sent = 0

function init(args)
   pool = tonumber(args[1])
   tid = tid or 0
end

function request()
   local i = sent % pool
   sent = sent + 1
   return wrk.format("GET", string.format("/report?ip=10.%d.%d.%d", tid + 1,
                                          math.floor(i / 250), i % 250 + 1))
end
