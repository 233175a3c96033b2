-- wrk.lua: the benchmark's load. Every request is for a different user, in
-- turn: wrk thread k of T takes users k, k+T, k+2T, ... of the tokens file
-- (one "user_id token" per line), so two threads never touch one user.
--   mode "read":  GET /api/v1/account
--   mode "write": POST /api/v1/subscription/cancel, and the next time the
--                 same user comes round, POST .../resume (then cancel, ...):
--                 every request changes the subscription, none is refused.
--   mode "plain": GET of the given path, no token (the ceilings).
-- Arguments (after --): mode tokens_file path wrk_threads. done() prints one line:
-- "wrk-result requests=N seconds=S rps=R p50_ms=A p99_ms=B errors=E".
local threads = {}
local counter = 0

function setup(thread)
	thread:set("thread_index", counter)
	counter = counter + 1
	table.insert(threads, thread)
end

-- requests are formatted once, in init(): the load generator shares the
-- cores with what it measures, so it should spend as little as it can
local mode, plain_request
local users = {}
local next_user = 1

function init(args)
	mode = args[1] or "read"
	local file = args[2]
	local path = args[3]
	if mode == "plain" then
		plain_request = wrk.format("GET", path)
		return
	end
	local thread_count = tonumber(args[4]) or 1
	local index = 0
	for line in io.lines(file) do
		local id, token = line:match("^(%S+)%s+(%S+)$")
		if id then
			if index % thread_count == thread_index then
				local auth = "Bearer " .. token
				local function post(action)
					return wrk.format("POST", "/api/v1/subscription/" .. action,
					    {["Authorization"] = auth, ["Content-Length"] = "0"})
				end
				table.insert(users, {
					read = wrk.format("GET", "/api/v1/account", {["Authorization"] = auth}),
					cancel = post("cancel"), resume = post("resume"), cancelled = false})
			end
			index = index + 1
		end
	end
	if #users == 0 then
		error("wrk.lua: no users for thread " .. thread_index)
	end
end

local primed = false

function request()
	if mode == "plain" then
		return plain_request
	end
	if not primed then
		-- wrk calls request() once on thread 1 to inspect it and never sends
		-- that one: a read that changes nothing, so no user's turn is lost
		primed = true
		return users[1].read
	end
	local u = users[next_user]
	next_user = next_user + 1
	if next_user > #users then
		next_user = 1
	end
	if mode == "read" then
		return u.read
	end
	u.cancelled = not u.cancelled
	return u.cancelled and u.cancel or u.resume
end

function done(summary, latency, requests)
	local e = summary.errors
	local errors = e.connect + e.read + e.write + e.status + e.timeout
	local seconds = summary.duration / 1e6
	io.write(string.format(
	    "wrk-result requests=%d seconds=%.2f rps=%.0f p50_ms=%.2f p99_ms=%.2f errors=%d" ..
	    " connect=%d read=%d write=%d status=%d timeout=%d\n",
	    summary.requests, seconds, summary.requests / seconds,
	    latency:percentile(50) / 1000, latency:percentile(99) / 1000, errors,
	    e.connect, e.read, e.write, e.status, e.timeout))
end
