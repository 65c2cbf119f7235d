-- wrk script for benches/wrk.rs: POST /v1/attestations, each request a different
-- pre-signed envelope (one JSON document per line of the file given after `--`), so
-- that every request is a new append and none is answered as a duplicate.

local envelopes = {}
local next_one = 0

function init(args)
  for line in io.lines(args[1]) do
    envelopes[#envelopes + 1] = line
  end
  if #envelopes == 0 then
    error("no envelopes in " .. args[1])
  end
end

function request()
  next_one = next_one % #envelopes + 1
  return wrk.format("POST", "/v1/attestations",
    { ["Content-Type"] = "application/json" }, envelopes[next_one])
end
