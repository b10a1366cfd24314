-- HOSTILE: the hook is a string, not a function. The message names the
-- file only: a chunk's result has no line.
-- kind: lock
-- when: load
-- line: none
-- expect: 'apply' is a string, expected a function
return { apply = "granted" }
