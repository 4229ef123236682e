/* Shared main() for the Check unit tests: each test file defines suite(), this runs it and
 * turns failures into a non-zero exit so CTest sees them. CK_RUN_CASE=name runs one case. */
#include "unit_test.h"
#include <stdlib.h>

int main(void)
{
    SRunner *runner = srunner_create(suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
