-- HOSTILE: the chunk asks string.rep for 2 GiB.
-- kind: lock
-- when: load
-- expect: string.rep: a string of 2147483648 bytes is more than a script may hold
local PAD = ("x"):rep(2 ^ 31) -- BAD
return { apply = function() return nil, { status = "granted", text = PAD } end }
