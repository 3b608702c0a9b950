-- Usage: lua5.4 run_health.lua <health.lua> <fixture.json>
-- Runs the Argo CD health script the way Argo CD does (a global `obj`, the script's return value)
-- in a fresh environment per fixture and prints "<status>\t<message>".
local here = arg[0]:match("^(.*)/[^/]*$") or "."
package.path = here .. "/?.lua;" .. package.path
local json = require("json")

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local script_path, fixture_path = arg[1], arg[2]
local obj = json.decode(read(fixture_path))
-- Only what Argo CD opens for health scripts when useOpenLibs is off (the default): the base
-- library, table, package and a safe os (time/date/clock). No string, math or io library, so a
-- script that needs them fails here as it would in Argo CD.
local env = {
  obj = obj, ipairs = ipairs, pairs = pairs, type = type, tostring = tostring, tonumber = tonumber,
  next = next, select = select, error = error, pcall = pcall, assert = assert, unpack = unpack,
  rawget = rawget, rawset = rawset, rawequal = rawequal, setmetatable = setmetatable,
  getmetatable = getmetatable, print = print, table = table,
  os = { time = os.time, date = os.date, clock = os.clock },
}
local source = read(script_path)
local chunk
if setfenv then -- Lua 5.1, the dialect of Argo CD's gopher-lua
  chunk = assert(loadstring(source, "@" .. script_path))
  setfenv(chunk, env)
else
  chunk = assert(load(source, "@" .. script_path, "t", env))
end
local ok, hs = pcall(chunk)
if not ok then
  io.stderr:write("health script error: " .. tostring(hs) .. "\n")
  os.exit(2)
end
if type(hs) ~= "table" or type(hs.status) ~= "string" then
  io.stderr:write("health script returned no {status=...} table\n")
  os.exit(2)
end
io.write(hs.status, "\t", tostring(hs.message or ""), "\n")
