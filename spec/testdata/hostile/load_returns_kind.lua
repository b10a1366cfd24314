-- HOSTILE: the chunk returns a string instead of a table of hooks. The
-- message names the file only: a chunk's result has no line.
-- kind: lock
-- when: load
-- line: none
-- expect: the script returned string, expected a table of functions
return "apply"
