-- wrk script for the API load test (crates/cli/tests/it/web.rs): every connection waits
-- WRK_DELAY_MS between requests, so N connections make about N * 1000 / WRK_DELAY_MS
-- requests a second; `done` prints one machine-readable summary line.
local delay_ms = tonumber(os.getenv("WRK_DELAY_MS") or "20")

function delay()
  return delay_ms
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'SUMMARY {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, "timeout": %d, "status": %d, "p50_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency.max))
end
