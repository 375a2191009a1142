/*
 * Tests of collector/attribution.c: the worked example, the exact-sum
 * invariant over many generated intervals, and the over-busy case.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "attribution.h"

#define J(x) ((uint64_t)(x)*1000000u)
#define S(x) ((uint64_t)(x)*1000000u)

/* 100 J, 40 CPU-s of which 30 idle, pods 4 and 2 CPU-s. */
static void
attribute_worked_example(void **state)
{
        uint64_t pod_us[] = {S(4), S(2)}, pod_uj[2];
        struct cl_attribution a;

        (void)state;
        cl_attribute(J(100), S(40), S(30), pod_us, 2, pod_uj, &a);
        assert_int_equal(pod_uj[0], J(10));
        assert_int_equal(pod_uj[1], J(5));
        assert_int_equal(a.idle_uj, J(75));
        assert_int_equal(a.system_uj, J(10));
        assert_int_equal(a.pods_uj, J(15));
        assert_false(a.scaled);
}

static uint64_t
next_random(uint64_t *s)
{
        *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
        return *s >> 33;
}

static void
attribute_sum_is_exact(void **state)
{
        uint64_t seed = 42, pod_us[16], pod_uj[16];

        (void)state;
        for (int round = 0; round < 20000; round++) {
                uint64_t energy = next_random(&seed) * 977 + 1;
                uint64_t total = next_random(&seed) % 100000000 + 1;
                uint64_t idle = next_random(&seed) % (total + 1);
                size_t n = (size_t)(next_random(&seed) % 16);
                uint64_t sum = 0;
                struct cl_attribution a;

                for (size_t i = 0; i < n; i++)
                        pod_us[i] = next_random(&seed) % (total / 4 + 1);
                cl_attribute(energy, total, idle, pod_us, n, pod_uj, &a);
                for (size_t i = 0; i < n; i++)
                        sum += pod_uj[i];
                assert_int_equal(sum, a.pods_uj);
                assert_int_equal(a.pods_uj + a.idle_uj + a.system_uj, energy);
                if (a.scaled)
                        assert_int_equal(a.system_uj, 0);
        }
}

/* Pods 15 + 8 + 2 = 25 CPU-s exceed the 20 s busy: scaled to 250 J. */
static void
attribute_over_busy_scales_pods(void **state)
{
        uint64_t pod_us[] = {S(15), S(8), S(2)}, pod_uj[3];
        struct cl_attribution a;

        (void)state;
        cl_attribute(J(1000), S(80), S(60), pod_us, 3, pod_uj, &a);
        assert_true(a.scaled);
        assert_int_equal(a.idle_uj, J(750));
        assert_int_equal(a.system_uj, 0);
        assert_int_equal(pod_uj[0], J(150));
        assert_int_equal(pod_uj[1], J(80));
        assert_int_equal(pod_uj[2], J(20));
}

static void
attribute_over_busy_remainders(void **state)
{
        uint64_t pod_us[] = {1, 1, 1}, pod_uj[3];
        struct cl_attribution a;

        (void)state;
        /* 10 uJ over 3 CPU-us with 1 us busy: floors give 9, one more. */
        cl_attribute(10, 2, 1, pod_us, 3, pod_uj, &a);
        assert_true(a.scaled);
        assert_int_equal(a.idle_uj, 5);
        assert_int_equal(pod_uj[0] + pod_uj[1] + pod_uj[2], 5);
        assert_int_equal(a.system_uj, 0);
}

static void
attribute_zero_cpu_time(void **state)
{
        uint64_t pod_us[] = {5}, pod_uj[1] = {99};
        struct cl_attribution a;

        (void)state;
        cl_attribute(J(3), 0, 0, pod_us, 1, pod_uj, &a);
        assert_int_equal(pod_uj[0], 0);
        assert_int_equal(a.system_uj, J(3));
        assert_int_equal(a.idle_uj, 0);
}

static void
attribute_large_values(void **state)
{
        /* 10 MJ over 1e10 CPU-us would overflow 64-bit products. */
        uint64_t pod_us[] = {UINT64_C(5000000000)}, pod_uj[1];
        struct cl_attribution a;

        (void)state;
        cl_attribute(UINT64_C(10000000000000), UINT64_C(10000000000), 0, pod_us,
                     1, pod_uj, &a);
        assert_int_equal(pod_uj[0], UINT64_C(5000000000000));
        assert_int_equal(a.system_uj, UINT64_C(5000000000000));
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(attribute_worked_example),
            cmocka_unit_test(attribute_sum_is_exact),
            cmocka_unit_test(attribute_over_busy_scales_pods),
            cmocka_unit_test(attribute_over_busy_remainders),
            cmocka_unit_test(attribute_zero_cpu_time),
            cmocka_unit_test(attribute_large_values),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
