-- SPDX-License-Identifier: MIT
-- wrk script of bench/api.sh: s3rver's own rate, driven directly with the
-- requests s3sign.py signed ahead (PUT: a report body, as the API stores;
-- GET: the same keys, once stored). Not HEAD: wrk 4.1 waits for the body
-- that a HEAD answer's Content-Length announces, and hangs.
--
-- usage: wrk ... -s s3direct.lua URL -- PUT|GET SIGNED THREADS START COUNT [BODY]
-- Uses lines START+1 to START+COUNT of SIGNED: wrk thread T of THREADS
-- sends the lines START+1+T, START+1+T+THREADS, ... and starts over past
-- the last (a PUT then overwrites a key).

local threads = 0

function setup(thread)
   thread:set("tid", threads)
   threads = threads + 1
end

local method, lines, body, step, first, count
local k

function init(args)
   method = args[1]
   step = tonumber(args[3])
   first = tonumber(args[4])
   count = tonumber(args[5])
   lines = {}
   for line in io.lines(args[2]) do
      local path, date, auth, nonce =
         line:match("^(%S+)\t([^\t]+)\t([^\t]+)\t(%S+)$")
      table.insert(lines, {path, date, auth, nonce})
   end
   assert(first + count <= #lines, "s3direct.lua: not enough signed requests")
   if method == "PUT" then
      local f = assert(io.open(args[6], "rb"))
      body = f:read("*a")
      f:close()
   end
   k = tid or 0
end

function request()
   local l = lines[first + k % count + 1]
   k = k + step
   local headers = { ["x-amz-date"] = l[2], ["Authorization"] = l[3] }
   if method == "PUT" then
      headers["Content-Type"] = "application/json"
      headers["x-amz-meta-osi-put"] = l[4]
      return wrk.format("PUT", l[1], headers, body)
   end
   return wrk.format("GET", l[1], headers)
end
