-- An experiment with no client operations: nothing for a sweep to check.
return {
  title = "no_ops: instances up, no client",
  run = function(lab) lab:run_for(100) end,
}
