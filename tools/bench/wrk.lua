-- wrk script of make bench (tools/bench.sh).  Modes, after wrk's `--`:
--   reqs PREFIX         thread i sends the lines of PREFIX.i (tools/bench/genreq.pl), each once:
--                       METHOD \t target \t Authorization \t body
--   paths FILE once T   GET the paths of FILE (one a line), thread i of T taking lines i, i+T, …, each once
--   paths FILE cycle T  the same, round and round (a warm cache)
--   (nothing)           wrk's own request (static file)
-- A thread that runs out of requests stops, and the rest of its time counts as idle: done() says
-- "exhausted" so that tools/bench.sh can say the file was too small.  done() prints one line:
--   wrkres: requests=N ok=N non2xx=N sockerr=N duration_s=S rate=R p50_ms=X p99_ms=Y exhausted=E first_error=…

local threads = {}
local counter = 0

function setup(thread)
   thread:set("id", counter)
   table.insert(threads, thread)
   counter = counter + 1
end

local reqs = nil
local nreq, pos, cycle = 0, 0, false
ok, non2xx, exhausted = 0, 0, 0
first_error = ""

local function split_tabs(line)
   local f = {}
   local start = 1
   for _ = 1, 3 do
      local i = string.find(line, "\t", start, true)
      if not i then return nil end
      table.insert(f, string.sub(line, start, i - 1))
      start = i + 1
   end
   table.insert(f, string.sub(line, start))
   return f
end

function init(args)
   local mode = args[1]
   if mode == "reqs" then
      reqs = {}
      local fh = assert(io.open(args[2] .. "." .. id, "rb"))
      for line in fh:lines() do
         local f = split_tabs(line)
         if f then
            nreq = nreq + 1
            reqs[nreq] = wrk.format(f[1], f[2], { ["Authorization"] = f[3],
                                                  ["Content-Type"] = "application/json" }, f[4])
         end
      end
      fh:close()
   elseif mode == "paths" then
      reqs = {}
      cycle = args[3] == "cycle"
      local nthreads = tonumber(args[4] or "1")
      local k = 0
      local fh = assert(io.open(args[2], "rb"))
      for line in fh:lines() do
         if line ~= "" then
            if k % nthreads == id then
               nreq = nreq + 1
               reqs[nreq] = wrk.format("GET", line)
            end
            k = k + 1
         end
      end
      fh:close()
   end
end

function request()
   if not reqs then
      return wrk.request()
   end
   pos = pos + 1
   if pos > nreq then
      if cycle and nreq > 0 then
         pos = 1
      else
         exhausted = 1
         wrk.thread:stop()
         -- something harmless that cannot count as a success
         return wrk.format("GET", "/hg/bench-exhausted")
      end
   end
   return reqs[pos]
end

function response(status, headers, body)
   if status >= 200 and status < 300 then
      ok = ok + 1
   else
      non2xx = non2xx + 1
      if first_error == "" then
         first_error = status .. " " .. string.gsub(string.sub(body or "", 1, 200), "%s", " ")
      end
   end
end

function done(summary, latency, requests)
   local okc, bad, ex, fe = 0, 0, 0, ""
   for _, t in ipairs(threads) do
      okc = okc + (t:get("ok") or 0)
      bad = bad + (t:get("non2xx") or 0)
      ex = ex + (t:get("exhausted") or 0)
      if fe == "" then fe = t:get("first_error") or "" end
   end
   local e = summary.errors
   local secs = summary.duration / 1e6
   io.write(string.format("wrkres: requests=%d ok=%d non2xx=%d sockerr=%d duration_s=%.2f rate=%.1f " ..
                          "p50_ms=%.2f p99_ms=%.2f exhausted=%d first_error=%s\n",
                          summary.requests, okc, bad, e.connect + e.read + e.write + e.timeout, secs,
                          okc / secs, latency:percentile(50) / 1000, latency:percentile(99) / 1000, ex, fe))
end
