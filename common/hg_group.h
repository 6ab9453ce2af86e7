/* hg_group: group commit inside one process.  Requests that need the same hot database rows (the
 * stock rows of a lane of billing points) line up per key; the first becomes the leader, takes
 * whoever is waiting, and does the locked part once for all of them (one COMMIT, one fsync),
 * while the others wait here instead of on the row lock.  When the leader leaves, the next one in
 * line leads the next batch: a batch forms from those who arrived while the previous one ran, so
 * an idle key costs nothing and a busy key gets batches as large as its queue.
 *
 * The leader talks to each member of its batch through messages (the caller's codes, > 0) and
 * waits for their replies, so that members can do their own share of the work (each in its own
 * thread, with its own pool) while the leader holds the lock.  Member structures belong to their
 * callers (on the stack is fine); they must stay valid from hg_group_enter until the member has
 * its last message.  Thread-safe; one hg_group_t per use, created once per process. */
#ifndef HG_GROUP_H
#define HG_GROUP_H
#include <pthread.h>
#include <semaphore.h>
#include <apr_errno.h>

#define HG_GROUP_LEAD 1          /* the message that makes a member the leader of the next batch */

typedef struct hg_group_t hg_group_t;
typedef struct hg_group_member_t hg_group_member_t;

struct hg_group_member_t {
    void *baton;                 /* the caller's: what the leader needs of this member */
    /* the caller's, optional: called once, outside any lock, when this member is about to wait in
     * line (e.g. to give back a database connection it will not need while waiting) */
    void (*before_wait)(void *arg);
    void *before_wait_arg;
    /* the rest is hg_group's */
    sem_t posted;                /* one post per message */
    sem_t replied;               /* leader: one post per reply from its batch */
    int msg;                     /* last message */
    hg_group_member_t *leader;   /* whom to reply to */
    hg_group_member_t *next;     /* in its key's line */
    struct hg_group_line_t *line;
};

apr_status_t hg_group_create(hg_group_t **g);
void         hg_group_destroy(hg_group_t *g);

/* join the line of key (copied): returns the first message — HG_GROUP_LEAD when this member leads
 * (at once on an idle key, or when the previous leader left), else what the leader sent */
int  hg_group_enter(hg_group_t *g, const char *key, hg_group_member_t *m);
/* leader: take up to max members waiting behind it, in arrival order; returns how many */
int  hg_group_take(hg_group_t *g, hg_group_member_t *leader, hg_group_member_t **batch, int max);
/* leader → member: a message (> 0, not HG_GROUP_LEAD); the member's hg_group_enter or
 * hg_group_wait returns it */
void hg_group_post(hg_group_t *g, hg_group_member_t *m, int msg);
/* member: wait for the leader's next message */
int  hg_group_wait(hg_group_t *g, hg_group_member_t *m);
/* member → its leader: done with what the last message asked */
void hg_group_reply(hg_group_t *g, hg_group_member_t *m);
/* leader: wait until n replies (counted since the batch was taken) have come */
void hg_group_await(hg_group_t *g, hg_group_member_t *leader, int n);
/* leader: done with the lock; the first member still in line (if any) leads next.  Members of the
 * batch that got no final message yet are still the leader's to post to. */
void hg_group_leave(hg_group_t *g, hg_group_member_t *leader);
/* every member, leader or not, once it expects no more messages (before its structure goes) */
void hg_group_end(hg_group_member_t *m);
/* members waiting in the key's line, its leader not counted (for tests and status) */
int  hg_group_waiting(hg_group_t *g, const char *key);

#endif
