-- A lock whose apply builds an ever larger table: the 64 MiB cap stops it.
return { apply = function(state, req, ctx) local t = {} for i = 1, 1e9 do t[i] = ("x"):rep(1000) .. i end end }
