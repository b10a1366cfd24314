/* control.h - the SK_MSG_CONTROL operations skinnyd honours (the op field),
 * shared by skinnyd and skinnyctl. The daemon answers every control frame
 * with a CLIENT_REPLY of the same seq: status GRANTED when done, ERROR with
 * the reason in text otherwise.
 *
 *   DROP   key = peer name or "*": drop everything we send to it
 *   DELAY  key = peer name or "*", ttl_ms = delay: delay what we send to it
 *   HEAL   clear every drop and delay
 *   RELOAD reload the scripts (as SIGHUP); a script that fails to load
 *          leaves the old ones running and the reply says why
 *   PING   answer, nothing else (text = node name)
 */
#ifndef SK_CONTROL_H
#define SK_CONTROL_H

enum sk_control_op {
    SK_CTL_DROP = 1,
    SK_CTL_DELAY = 2,
    SK_CTL_HEAL = 3,
    SK_CTL_RELOAD = 4,
    SK_CTL_PING = 5,
};

/* STATUS_REPLY frames: one per register with status SK_STATUS_ROW, then
 * one with status SK_STATUS_END, an empty key and token = number of rows.
 * A row's text is what its lock state means (the lock script's describe,
 * sk_describe); the closing frame's text is the answering node's name. */
#define SK_STATUS_ROW 1
#define SK_STATUS_END 2

#endif
