/* lua_pattern.h - Lua 5.4 patterns (string.find, string.match,
 * string.gmatch, string.gsub) under a budget.
 *
 * Lua's own string library matches patterns in C by backtracking, where no
 * count hook fires: ("a"):rep(3000):find(".-.-.-b") runs for minutes inside
 * one call. These functions behave as Lua 5.4's (the same results and the
 * same error messages), but every elementary step of the matcher (a
 * character compared, a quantifier's attempt, a start position tried, a
 * byte of a plain find, a set member scanned) is counted and charged to a
 * meter about every thousand steps; once the meter says the budget is
 * spent, the function raises
 *
 *     string.find: instruction budget exceeded (N instructions): a pattern that backtracks?
 *
 * (naming the function). spec/HOOKS.md, "The sandbox". */
#ifndef SKL_LUA_PATTERN_H
#define SKL_LUA_PATTERN_H

#include <stdint.h>

#include <lua.h>

/* Where the steps go. With charge set, charge(L, ud, steps) adds steps to
 * the owner's count and returns 0 while it is within the budget, else the
 * budget (for the message); L is the thread running the function. With
 * charge NULL the meter counts by itself: used += steps, over once used >
 * budget (a fixed budget for every call of the functions, for tests). */
struct skl_pattern_meter {
    uint64_t (*charge)(lua_State *L, void *ud, uint64_t steps);
    void *ud;
    uint64_t used;
    uint64_t budget;
};

/* Set find, match, gmatch and gsub in the table at index idx to functions
 * charging a copy of *m (shared by the four and the gmatch iterators). */
void skl_pattern_register(lua_State *L, int idx, const struct skl_pattern_meter *m);

#endif
