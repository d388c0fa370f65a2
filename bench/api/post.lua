-- SPDX-License-Identifier: MIT
-- wrk script of bench/api.sh: POST /report with a realistic report (the
-- output of osinspect-agent --print --compact), each request with its own
-- report_id, a server_ip taken in turn from a pool of distinct addresses
-- and collected_at at the present second.
--
-- usage: wrk ... -s post.lua URL -- TEMPLATE POOL RUN [once]
--   TEMPLATE  the report with @IP@, @ID@ and @AT@ where server_ip,
--             report_id and collected_at go
--   POOL      addresses per wrk thread: thread T sends 10.(T+1).x.y,
--             the i-th being 10.(T+1).(i div 250).(i mod 250 + 1)
--   RUN       a number naming this run, part of every report_id, so that
--             no two runs send the same id
--   once      stop each thread after one report per address of its pool
--             (with one connection per thread: seeds every address once)

local threads = 0

function setup(thread)
   thread:set("tid", threads)
   threads = threads + 1
end

local parts, pool, run, once
local sent, answered = 0, 0

local function ip_of(t, i)
   return string.format("10.%d.%d.%d", t + 1, math.floor(i / 250), i % 250 + 1)
end

function init(args)
   local f = assert(io.open(args[1], "rb"))
   local text = f:read("*a")
   f:close()
   -- The template split at its three holes: odd parts are its text, even
   -- parts the names of the holes.
   local holes = {}
   for _, h in ipairs({"IP", "ID", "AT"}) do
      local s = text:find("@" .. h .. "@", 1, true)
      assert(s, "post.lua: no @" .. h .. "@ in " .. args[1])
      table.insert(holes, {s, h})
   end
   table.sort(holes, function(a, b) return a[1] < b[1] end)
   parts = {}
   local pos = 1
   for _, hole in ipairs(holes) do
      table.insert(parts, text:sub(pos, hole[1] - 1))
      table.insert(parts, hole[2])
      pos = hole[1] + 4
   end
   table.insert(parts, text:sub(pos))
   pool = tonumber(args[2])
   run = tonumber(args[3])
   once = args[4] == "once"
   tid = tid or 0
   wrk.method = "POST"
   wrk.path = "/report"
   wrk.headers["Content-Type"] = "application/json"
end

function request()
   local i = sent % pool
   local now = os.time()
   local values = {
      IP = ip_of(tid, i),
      -- UUID-shaped and unique: run, thread, sequence number
      ID = string.format("%08x-%04x-4%03x-8000-%012x", now % 4294967296,
                         run % 65536, tid % 4096, sent),
      AT = os.date("!%Y-%m-%dT%H:%M:%S", now) ..
         string.format(".%03dZ", sent % 1000),
   }
   local body = {}
   for k, p in ipairs(parts) do
      if k % 2 == 0 then
         body[k] = values[p]
      else
         body[k] = p
      end
   end
   sent = sent + 1
   return wrk.format(nil, nil, nil, table.concat(body))
end

function response(status, headers, body)
   answered = answered + 1
   if once and answered >= pool then
      wrk.thread:stop()
   end
end
