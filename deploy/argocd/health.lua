-- Argo CD custom health check for reprotect.io/v1alpha1 ReprotectPolicy, MasterTarget and
-- ProtectedMachine (one script for the three kinds; see README.md for the argocd-cm keys).
--
-- Order of evaluation (first match wins):
--   1. no status, or status.observedGeneration < metadata.generation -> Progressing
--      (the controller has not looked at the current spec yet, whatever the old status says)
--   2. ProtectedMachine phase Paused (or Reconciling=False with reason Paused) -> Suspended
--   3. condition Stalled=True, or phase Blocked -> Degraded (needs a person)
--   4. phase Protected or ProtectedToAzure -> Healthy
--   5. phase Pending/Validating/WaitingForFailover/WaitingForAgent/Reprotecting, or on the way home
--      FailingBack/CommitPending/Committing/WaitingForForwardAgent/ReprotectingToAzure -> Progressing
--   6. kinds without a phase: Ready=True -> Healthy, otherwise Progressing
--      (Reconciling=True or Ready=False while not stalled means the controller is still working)
-- Argo CD provides the global `obj` (the live object as a Lua table) and expects the returned table.

local function find_condition(conditions, type_)
  if type(conditions) ~= "table" then
    return nil
  end
  for _, c in ipairs(conditions) do
    if type(c) == "table" and c.type == type_ then
      return c
    end
  end
  return nil
end

local function is_true(c)
  return c ~= nil and c.status == "True"
end

local function describe(c, fallback)
  if c ~= nil then
    local msg = c.message
    if msg ~= nil and msg ~= "" then
      if c.reason ~= nil and c.reason ~= "" then
        return c.reason .. ": " .. msg
      end
      return msg
    end
    if c.reason ~= nil and c.reason ~= "" then
      return c.reason
    end
  end
  return fallback
end

local progressing_phases = {
  Pending = true,
  Validating = true,
  WaitingForFailover = true,
  WaitingForAgent = true,
  Reprotecting = true,
  FailingBack = true,
  CommitPending = true,
  Committing = true,
  WaitingForForwardAgent = true,
  ReprotectingToAzure = true,
}

local function health(obj)
  local hs = {}
  local status = obj.status
  if type(status) ~= "table" then
    hs.status = "Progressing"
    hs.message = "Waiting for the controller to report status"
    return hs
  end

  local generation = nil
  if type(obj.metadata) == "table" then
    generation = obj.metadata.generation
  end
  local observed = status.observedGeneration
  if generation ~= nil and (observed == nil or tonumber(observed) < tonumber(generation)) then
    hs.status = "Progressing"
    hs.message = "Waiting for the controller to observe generation " .. tostring(generation)
      .. " (observed " .. tostring(observed) .. ")"
    return hs
  end

  local conditions = status.conditions
  local ready = find_condition(conditions, "Ready")
  local reconciling = find_condition(conditions, "Reconciling")
  local stalled = find_condition(conditions, "Stalled")
  local phase = status.phase

  if phase == "Paused" then
    hs.status = "Suspended"
    hs.message = describe(ready, "Paused")
    return hs
  end

  if is_true(stalled) then
    hs.status = "Degraded"
    hs.message = describe(stalled, "Stalled")
    return hs
  end

  if phase == "Blocked" then
    hs.status = "Degraded"
    hs.message = describe(ready, "Blocked")
    return hs
  end

  if phase == "Protected" or phase == "ProtectedToAzure" then
    hs.status = "Healthy"
    hs.message = describe(ready, phase)
    return hs
  end

  if phase ~= nil and progressing_phases[phase] then
    hs.status = "Progressing"
    hs.message = phase .. ": " .. describe(reconciling, describe(ready, "in progress"))
    return hs
  end

  if phase ~= nil then
    -- A phase this script does not know (newer controller): fall back to the conditions.
    if is_true(ready) then
      hs.status = "Healthy"
    else
      hs.status = "Progressing"
    end
    hs.message = "Phase " .. tostring(phase) .. ": " .. describe(ready, "")
    return hs
  end

  -- ReprotectPolicy and MasterTarget: conditions only.
  if is_true(ready) then
    hs.status = "Healthy"
    hs.message = describe(ready, "Ready")
    return hs
  end
  if is_true(reconciling) then
    hs.status = "Progressing"
    hs.message = describe(reconciling, "Reconciling")
    return hs
  end
  hs.status = "Progressing"
  hs.message = describe(ready, "Waiting for the controller")
  return hs
end

return health(obj)
