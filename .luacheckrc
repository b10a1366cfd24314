std = "lua54+busted"
exclude_files = { "spec/testdata/bad/*", "spec/testdata/hostile/*", "tests/browser/node_modules/*" }
max_line_length = 120
-- hooks take (ctx, ...) whether or not they use every argument
unused_args = false
