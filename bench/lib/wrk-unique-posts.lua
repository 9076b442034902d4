-- wrk script: POST requests that each create something new. Every request carries a number
-- unique over threads and requests (thread id, request count), so every release gets its own
-- tag and every asset its own name, and every body of SIZE bytes starts with that name (distinct
-- bodies: a content-addressed store cannot skip a write by finding the bytes already stored).
--
--   wrk -s wrk-unique-posts.lua URL -- release PREFIX
--       body {"tag_name": "PREFIX-T-N", ...} to URL's path
--   wrk -s wrk-unique-posts.lua URL -- asset PREFIX SIZE PATH_TEMPLATE ID...
--       SIZE bytes to PATH_TEMPLATE with the release id and the asset name filled in (%s, %s),
--       spread over the release ids given
--   wrk -s wrk-unique-posts.lua URL -- body SIZE
--       SIZE bytes to URL's path (the receiver's ceiling)

local threads = 0

function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

function init(args)
  mode = args[1]
  n = 0
  if mode == "release" then
    prefix = args[2]
  elseif mode == "asset" then
    prefix = args[2]
    blob = string.rep("x", tonumber(args[3]))
    template = args[4]
    ids = {}
    for i = 5, #args do ids[#ids + 1] = args[i] end
  else
    prefix = "body"
    blob = string.rep("x", tonumber(args[2]))
  end
end

-- SIZE bytes, the first of them `name`.
local function unique(name)
  return name .. string.sub(blob, #name + 1)
end

function request()
  n = n + 1
  if mode == "release" then
    local tag = string.format("%s-%d-%d", prefix, tid, n)
    return wrk.format("POST", nil, nil, string.format('{"tag_name":"%s","name":"Release %s","body":"Notes for %s"}', tag, tag, tag))
  elseif mode == "asset" then
    local id = ids[(n % #ids) + 1]
    local name = string.format("%s-%d-%d.bin", prefix, tid, n)
    return wrk.format("POST", string.format(template, id, name), nil, unique(name))
  else
    return wrk.format("POST", nil, nil, unique(string.format("%s-%d-%d", prefix, tid, n)))
  end
end
