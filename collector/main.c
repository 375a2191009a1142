/* carbonledger-collector: entry point (being written). */
#include <stdio.h>

int
main(void)
{
        fputs("carbonledger-collector: under construction\n", stderr);
        return 2;
}
