# scripts/skinny/render.mk - `make screenshot`: the README's picture of a run.
#
# Runs an experiment, renders its trace to HTML with `skinny render` and has headless
# chromium photograph the page at one moment of the run:
#     make screenshot                      doc/duelling.png (duelling.lua, seed 7, no backoff)
#     make screenshot EXPERIMENT=scripts/experiments/basic.lua SCREENSHOT=doc/basic.png
# Knobs: EXPERIMENT, SEED, VARIANT (empty for an experiment without variants; duelling's
# default is "none"), SCREENSHOT (the PNG), SCREENSHOT_AT (the moment, in virtual ms, the
# scrubber and the diagram's cursor show), SCREENSHOT_SIZE (window, px), CHROMIUM.
# Needs chromium (apt-get install chromium; tests/browser/PACKAGES lists it).

EXPERIMENT ?= scripts/experiments/duelling.lua
SEED ?= 7
VARIANT ?= $(if $(findstring duelling,$(EXPERIMENT)),none,)
SCREENSHOT ?= doc/duelling.png
SCREENSHOT_AT ?= 40
SCREENSHOT_SIZE ?= 1400,1100
CHROMIUM ?= chromium
SHOT_DIR := $(B)/screenshot

# `skinny render` once the CLI has the command, else the same Lua function called directly
SHOT_RENDER = if bin/skinny help 2>&1 | grep -q 'skinny render'; then \
	    bin/skinny render $(1) -o $(2); \
	else \
	    lua5.4 -e 'package.path="scripts/?.lua;scripts/?/init.lua;"..package.path; \
	        package.cpath="$(B)/?.so;"..package.cpath; local ok, s = pcall(require, "skinny"); \
	        os.exit(require("skinny.render_cli").render_cmd(arg, ok and s or nil))' /dev/null $(1) -o $(2); \
	fi

.PHONY: screenshot
screenshot: all
	@command -v $(CHROMIUM) >/dev/null || { echo "screenshot: $(CHROMIUM) is not installed (apt-get install chromium)"; exit 1; }
	@mkdir -p $(SHOT_DIR) $(dir $(SCREENSHOT))
	@rm -f $(SHOT_DIR)/run*.jsonl
	@bin/skinny run $(EXPERIMENT) --seed $(SEED) $(if $(VARIANT),--variant $(VARIANT)) \
	    --trace $(SHOT_DIR)/run.jsonl --quiet >/dev/null; \
	    rc=$$?; [ $$rc -le 1 ] || { echo "screenshot: skinny run $(EXPERIMENT) failed (exit $$rc)"; exit 1; }
	@t=$$(ls $(SHOT_DIR)/run*.jsonl | head -n 1); $(call SHOT_RENDER,$$t,$(SHOT_DIR)/run.html)
	@$(CHROMIUM) --headless --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=1 \
	    --window-size=$(SCREENSHOT_SIZE) --virtual-time-budget=2000 \
	    --screenshot=$(abspath $(SCREENSHOT)) "file://$(abspath $(SHOT_DIR)/run.html)#t=$(SCREENSHOT_AT)" \
	    >/dev/null 2>&1 || { echo "screenshot: chromium could not take the picture"; exit 1; }
	@test -s $(SCREENSHOT) && echo "screenshot: wrote $(SCREENSHOT) ($(EXPERIMENT) --seed $(SEED)$(if $(VARIANT), --variant $(VARIANT)), t=$(SCREENSHOT_AT) ms)"
