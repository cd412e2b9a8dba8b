-- wrk script: POST a streamed OpenAI chat request on every call (keep-alive).
wrk.method = "POST"
wrk.path = "/v1/chat/completions"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"loadgen-sim","stream":true,"messages":[{"role":"user","content":"Say something short"}]}'
