-- wrk script of make bench (tools/bench.sh).  Modes, after wrk's `--`:
--   reqs PREFIX         thread i sends the lines of PREFIX.i (tools/bench/genreq.pl), each once:
--                       METHOD \t target \t Authorization \t body
--   paths FILE once T   GET the paths of FILE (one a line), thread i of T taking lines i, i+T, …, each once
--   paths FILE cycle T  the same, round and round (a warm cache)
--   consult FILE T      pre-consultation walk: thread i takes the session tokens i, i+T, … of FILE
--                       (tools/bench/genconsult.pl) and POSTs the respiratory template's answer steps
--                       (WALK below), step 1 of every session, then step 2 …: a session's next step
--                       comes as late as possible, so one session never has two steps in flight.
--                       After the last step the walk starts again (re-answering, as after Back).
--   (nothing)           wrk's own request (static file)
-- WRK_INTERVAL_US=N in the environment: an open loop at a fixed rate, as wrk2 measures (run with
-- -t equal to -c: one connection per thread, so that this thread's Lua state is that connection's).
-- Each connection sends one request every N us from a random start, whatever the answers' latency,
-- so C connections offer C * 1e6 / N requests/s; a request's latency counts from when it was due,
-- not from when it went out: a late answer delays the next sends, and their wait counts too (no
-- coordinated omission).  Below saturation this is the service's own latency, not the wait in line
-- that a saturated closed loop adds (there p50 ≈ connections / throughput); above it, the backlog
-- shows as latency growing over the run.  p50_ms and p99_ms are then these, and from_due=1.
-- A thread that runs out of requests stops, and the rest of its time counts as idle: done() says
-- "exhausted" so that tools/bench.sh can say the file was too small.  done() prints one line:
--   wrkres: requests=N ok=N non2xx=N sockerr=N duration_s=S rate=R p50_ms=X p99_ms=Y exhausted=E first_error=…

local threads = {}
local counter = 0

-- wrk checks for delay() in the main state, which has no arguments: hence the environment
local interval = tonumber(os.getenv("WRK_INTERVAL_US") or "")
local now_us
if interval and interval > 0 then
   local ffi = require("ffi")
   ffi.cdef[[
      typedef struct { long tv_sec; long tv_nsec; } hg_bench_timespec_t;
      int clock_gettime(int clock_id, hg_bench_timespec_t *tp);
   ]]
   local ts = ffi.new("hg_bench_timespec_t")
   now_us = function()
      ffi.C.clock_gettime(1, ts)          -- CLOCK_MONOTONIC
      return tonumber(ts.tv_sec) * 1e6 + tonumber(ts.tv_nsec) / 1e3
   end
   local due, sent_due
   -- called before each request of this thread's one connection: wait until it is due
   function delay()
      local now = now_us()
      if not due then
         math.randomseed(id * 7919 + math.floor(now) % 100003)
         due = now + math.random() * interval
      end
      sent_due = due
      due = due + interval
      return math.max(0, math.ceil((sent_due - now) / 1000))   -- wrk waits whole ms
   end
   -- latency from when the answered request was due (one request in flight per connection)
   function from_due()
      if sent_due then
         lat[#lat + 1] = now_us() - sent_due
      end
   end
end
lat = {}

function setup(thread)
   thread:set("id", counter)
   table.insert(threads, thread)
   counter = counter + 1
end

-- one patient's walk through resp-0301 (mod_consult/demo.sql): cough, its days, fever and its
-- follow-ups, no red flag, past history, smoking, a drug allergy and its detail, family → review.
-- A follow-up is sent with its question (as a page showing both would): a step that overtakes its
-- predecessor under a long latency tail must not be refused as "does not apply".
local WALK = {
   '{"answers":[{"linkId":"cough","value":"yes"}]}',
   '{"answers":[{"linkId":"cough","value":"yes"},{"linkId":"cough_days","value":5}]}',
   '{"answers":[{"linkId":"fever","value":"yes"}]}',
   '{"answers":[{"linkId":"fever","value":"yes"},{"linkId":"fever_temp","value":38.5}]}',
   '{"answers":[{"linkId":"fever","value":"yes"},{"linkId":"fever_days","value":2}]}',
   '{"answers":[{"linkId":"red_flag","value":"no"}]}',
   '{"answers":[{"linkId":"past","value":["asthma"]}]}',
   '{"answers":[{"linkId":"smoke","value":false}]}',
   '{"answers":[{"linkId":"allergy","value":"drug"}]}',
   '{"answers":[{"linkId":"allergy","value":"drug"},{"linkId":"allergy_detail","value":"\\u9752\\u9709\\u7d20"}]}',
   '{"answers":[{"linkId":"family","value":false}]}',
}

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
   elseif mode == "consult" then
      reqs = {}
      cycle = true
      local nthreads = tonumber(args[3] or "1")
      local toks = {}
      local k = 0
      local fh = assert(io.open(args[2], "rb"))
      for line in fh:lines() do
         if line ~= "" then
            if k % nthreads == id then
               table.insert(toks, line)
            end
            k = k + 1
         end
      end
      fh:close()
      for s = 1, #WALK do
         for t = 1, #toks do
            nreq = nreq + 1
            reqs[nreq] = wrk.format("POST", "/consult/pub/v1/sessions/" .. toks[t] .. "/answers",
                                    { ["Content-Type"] = "application/json" }, WALK[s])
         end
      end
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
   if from_due then
      from_due()
   end
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
   local p50, p99, due = latency:percentile(50) / 1000, latency:percentile(99) / 1000, 0
   if interval and interval > 0 then
      local all = {}
      for _, t in ipairs(threads) do
         for _, v in ipairs(t:get("lat") or {}) do
            all[#all + 1] = v
         end
      end
      table.sort(all)
      if #all > 0 then
         local function pct(q) return all[math.max(1, math.ceil(#all * q))] / 1000 end
         p50, p99, due = pct(0.50), pct(0.99), 1
      end
   end
   io.write(string.format("wrkres: requests=%d ok=%d non2xx=%d sockerr=%d duration_s=%.2f rate=%.1f " ..
                          "p50_ms=%.2f p99_ms=%.2f from_due=%d exhausted=%d first_error=%s\n",
                          summary.requests, okc, bad, e.connect + e.read + e.write + e.timeout, secs,
                          okc / secs, p50, p99, due, ex, fe))
end
