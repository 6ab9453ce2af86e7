/* hg_json_arena: jansson's values in a pool or on the heap, checked under valgrind's memcheck.
 * The program starts itself under valgrind and reads its report: no invalid read, write or free,
 * and no block lost, through values made in a pool and dropped there, heap values put into pool
 * values and freed with them, heap values on their own, and a pool value dropped before its pool.
 * The inner run also checks what the values hold and prints CHECK lines the outer run counts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <valgrind/memcheck.h>
#include "tap.h"
#include "hg_json.h"

#define CHECK(cond, what) fprintf(stderr, "CHECK %s %s\n", (cond) ? "ok" : "FAILED", what)

static const char *DOC = "{\"busNo\":\"OP1\",\"chargeDetail\":[{\"amt\":\"1.00\",\"name\":\"西药费\"},"
                         "{\"amt\":\"2.50\",\"name\":\"检查费\"}],\"payer\":\"张三\",\"totalAmt\":\"3.50\"}";

static int inner(void)
{
    apr_pool_t *root, *p;
    json_t *j, *h, *copy;
    const char *text;
    int i;

    apr_initialize();
    apr_pool_create(&root, NULL);
    hg_json_arena_init();

    /* the heap, as before: made and freed one by one */
    for (i = 0; i < 100; i++) {
        h = json_pack("{s:s, s:[i, i], s:{s:b}}", "a", "b", "c", i, i + 1, "d", "e", 1);
        json_object_set_new(h, "f", json_string("g"));
        json_decref(h);
    }
    h = json_loads(DOC, 0, NULL);
    CHECK(h && !strcmp(json_string_value(json_object_get(h, "payer")), "张三"), "a heap value parses");

    /* a pool: parse, change, dump, drop a part before the pool goes */
    apr_pool_create(&p, root);
    CHECK(hg_json_arena(p) == NULL, "the heap was in use before");
    CHECK(hg_json_parse(&j, p, DOC, strlen(DOC), 0, NULL) == APR_SUCCESS, "a pool value parses");
    json_object_set_new(j, "state", json_string("normal"));
    json_array_remove(json_object_get(j, "chargeDetail"), 0);       /* dropped: its blocks stay in p */
    for (i = 0; i < 50; i++)
        json_object_set_new(j, "tmp", json_integer(i));             /* each replaces and drops the last */
    text = hg_json_dump(p, j, HG_JSON_DUMP_SORTED);
    CHECK(text && !strcmp(text, "{\"busNo\":\"OP1\",\"chargeDetail\":[{\"amt\":\"2.50\",\"name\":\"检查费\"}],"
                          "\"payer\":\"张三\",\"state\":\"normal\",\"tmp\":49,\"totalAmt\":\"3.50\"}"),
          "the pool value holds what was put in it");
    copy = json_deep_copy(j);                                       /* a second pool value, never owned */
    json_decref(copy);                                              /* dropped: nothing to free */

    /* back to the heap: heap values in a pool value, freed when the pool's cleanup drops it */
    CHECK(hg_json_arena(NULL) == p, "the pool was in use");
    json_object_set_new(j, "heap", json_pack("{s:s, s:[s, s]}", "x", "y", "z", "一", "二"));
    json_array_append_new(json_object_get(j, "chargeDetail"), json_pack("{s:s}", "amt", "9.99"));
    /* and a pool value in a heap value that the pool outlives */
    hg_json_arena(p);
    json_object_set_new(h, "frompool", json_string("池"));
    hg_json_arena(NULL);
    CHECK(!strcmp(json_string_value(json_object_get(h, "frompool")), "池"), "a pool string in a heap object");
    json_decref(h);                                                 /* frees the heap blocks, not the pool's */
    apr_pool_destroy(p);                                            /* drops j: its heap children go */

    apr_pool_destroy(root);
    apr_terminate();
    fprintf(stderr, "MARK end\n");
    return 0;
}

int main(int argc, char **argv)
{
    char cmd[4096], line[1024];
    FILE *f;
    int checks = 0, failed = 0, ended = 0, errors = -1, rc;
    long lost = -1, indirect = -1;
    if (RUNNING_ON_VALGRIND)
        return inner();
    tap_plan(5);
    snprintf(cmd, sizeof cmd, "valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite "
             "'%s' 2>&1", argv[0]);
    if (!(f = popen(cmd, "r"))) {
        tap_ok(0, "valgrind runs");
        return tap_done();
    }
    while (fgets(line, sizeof line, f)) {
        const char *m;
        if (!strncmp(line, "CHECK ", 6)) {
            checks++;
            if (strncmp(line + 6, "ok", 2)) {
                failed++;
                tap_diag("%s", line);
            }
        }
        else if (!strncmp(line, "MARK end", 8))
            ended = 1;
        else if ((m = strstr(line, "ERROR SUMMARY: ")))
            errors = atoi(m + 15);
        else if ((m = strstr(line, "definitely lost: ")))
            lost = atol(m + 17);
        else if ((m = strstr(line, "indirectly lost: ")))
            indirect = atol(m + 17);
        else if (strstr(line, "Invalid ") || strstr(line, "Mismatched free"))
            tap_diag("%s", line);
    }
    rc = pclose(f);
    tap_ok(rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0 && ended, "the checked program ran to its end under valgrind");
    tap_is_int(checks, 6, "its checks all ran");
    tap_is_int(failed, 0, "the values hold what was put in them, in the pool and on the heap");
    tap_is_int(errors, 0, "no invalid read, write or free");
    /* no leak summary at all means nothing was left */
    tap_ok((lost == -1 || lost == 0) && (indirect == -1 || indirect == 0),
           "no block lost (definitely %ld, indirectly %ld)", lost, indirect);
    return tap_done();
}
