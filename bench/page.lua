-- wrk script: one authenticated GET, the same for every request; prints a JSON summary at the end.
-- BENCH_TOKEN and BENCH_PATH come from the environment (set by bench/reads.py).
wrk.method = "GET"
wrk.path = os.getenv("BENCH_PATH")
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
wrk.headers["Accept"] = "application/json"
-- BENCH_ACCEPT_ENCODING (optional): "gzip", as a phone asks.
local encoding = os.getenv("BENCH_ACCEPT_ENCODING")
if encoding ~= nil and encoding ~= "" then
  wrk.headers["Accept-Encoding"] = encoding
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"mean": %.1f, "p50": %d, "p90": %d, "p99": %d, "max": %d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
