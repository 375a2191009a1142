/* carbonledger: entry point (being written). */
#include <stdio.h>

int
main(void)
{
        fputs("carbonledger: under construction\n", stderr);
        return 2;
}
