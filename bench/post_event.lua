-- wrk script: POST one valid visitor event with the tenant's bearer key (CRMHOST_BENCH_KEY).
wrk.method = "POST"
wrk.path = "/v1/events"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("CRMHOST_BENCH_KEY") or "bench-key")
wrk.body = '{"event":"visitor.checked_in","timestamp":"2026-04-15T10:05:00Z",'
  .. '"visitor":{"email":"jane.smith@example.com","first_name":"Jane","last_name":"Smith",'
  .. '"company":"Acme Corp"},'
  .. '"visit":{"host":"John Doe","site":"Munich HQ","checked_in_at":"2026-04-15T10:05:00Z"}}'
