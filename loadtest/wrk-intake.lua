-- wrk -s loadtest/wrk-intake.lua: POSTs registrations read from the file
-- named by BODIES (one JSON body a line, written by loadtest -bodies-out),
-- each thread taking every WRK_THREADS-th line, so that each body is sent
-- once: distinct children, answered 202. Past the end of its share a
-- thread starts over (those answers are 200, repeated); scripts/bench.sh
-- counts the 202s from the server's metrics and says so.
local counter = 0

function setup(thread)
	thread:set("id", counter)
	counter = counter + 1
end

function init(args)
	local n = tonumber(os.getenv("WRK_THREADS") or "1")
	bodies = {}
	local i = 0
	for line in io.lines(os.getenv("BODIES")) do
		if i % n == id then
			bodies[#bodies + 1] = line
		end
		i = i + 1
	end
	nextBody = 1
	wrk.method = "POST"
	wrk.headers["Content-Type"] = "application/json"
end

function request()
	local b = bodies[nextBody]
	nextBody = nextBody + 1
	if nextBody > #bodies then
		nextBody = 1
	end
	return wrk.format(nil, "/api/v1/applications", nil, b)
end
