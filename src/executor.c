#include "postgres.h"
#include "executor.h"
TimestampTz
sj_dispatch_procedure_jobs(int dbslot)
{
	return DT_NOEND;
}
void
sj_executor_main(Datum main_arg)
{
}
