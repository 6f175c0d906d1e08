-- wrk -s loadtest/wrk-intake.lua: POSTs registrations read from the file
-- named by BODIES (one JSON body a line, written by loadtest -bodies-out),
-- each thread taking every WRK_THREADS-th line, so that each body is sent
-- once: distinct children, answered 202. Past the end of its share a
-- thread starts over (those answers are 200, repeated); scripts/bench.sh
-- counts the 202s from the server's metrics and says so.
--
-- The requests are formatted once, when a thread starts: wrk shares the
-- machine with the server it measures, and formatting each request as it
-- is sent cost wrk about 4 µs more CPU a request.
--
-- wrk starts each thread as soon as its init has run, one thread after
-- the other, and its clock when the last has started: a thread would send
-- for as long as the others take to read their bodies (a second or two)
-- before the run's time begins, and the throughput would count those
-- requests. So each thread's init leaves a mark (a file beside BODIES),
-- and each thread waits at its first request until all are there: at its
-- second for the first thread, whose first request wrk asks for before
-- starting any thread, to check that it parses.
local counter = 0

function setup(thread)
	thread:set("id", counter)
	counter = counter + 1
end

local function mark(i)
	return os.getenv("BODIES") .. ".ready." .. i
end

function init(args)
	threads = tonumber(os.getenv("WRK_THREADS") or "1")
	if id == 0 then
		for i = 0, threads - 1 do
			os.remove(mark(i)) -- left by an earlier run
		end
	end
	wrk.method = "POST"
	wrk.headers["Content-Type"] = "application/json"
	requests = {}
	local i = 0
	for line in io.lines(os.getenv("BODIES")) do
		if i % threads == id then
			requests[#requests + 1] = wrk.format(nil, "/api/v1/applications", nil, line)
		end
		i = i + 1
	end
	nextRequest = 1
	io.open(mark(id), "w"):close()
end

-- started waits until every thread has read its bodies.
local function started()
	for i = 0, threads - 1 do
		while true do
			local f = io.open(mark(i), "r")
			if f then
				f:close()
				break
			end
			os.execute("sleep 0.01")
		end
	end
	return true
end

function request()
	if not ready then
		calls = (calls or 0) + 1
		if id ~= 0 or calls > 1 then
			ready = started()
		end
	end
	local r = requests[nextRequest]
	nextRequest = nextRequest + 1
	if nextRequest > #requests then
		nextRequest = 1
	end
	return r
end

function done(summary, latency, requests)
	for i = 0, counter - 1 do
		os.remove(mark(i))
	end
end
