# scheduled_jobs: build with PGXS.  The version lives in one place only:
# default_version in scheduled_jobs.control.
EXTENSION = scheduled_jobs
EXTVERSION := $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" $(EXTENSION).control)
ifeq ($(EXTVERSION),)
$(error could not read default_version from $(EXTENSION).control)
endif
MODULE_big = scheduled_jobs

OBJS = \
	src/scheduled_jobs.o \
	src/guc.o \
	src/clock.o \
	src/shmem.o \
	src/launcher.o \
	src/scheduler.o \
	src/fire.o \
	src/dispatch.o \
	src/api.o \
	src/target.o \
	src/consumer.o \
	src/insert.o \
	src/owner_sql.o \
	src/utility.o \
	src/envelope.o \
	src/worker.o \
	src/job.o \
	src/current_job.o \
	src/inflight.o \
	src/attempt.o \
	src/call.o \
	src/command.o \
	src/occurrence.o \
	src/retention.o \
	src/histogram.o \
	src/stats.o \
	src/status.o \
	src/schedule.o \
	src/executor.o \
	src/cron.o \
	src/recurrence.o \
	src/cron_sql.o

DATA_built = sql/$(EXTENSION)--$(EXTVERSION).sql
# released install scripts, kept to test upgrades from them, and the upgrades
DATA = sql/$(EXTENSION)--0.1.0.sql sql/$(EXTENSION)--0.2.0.sql sql/$(EXTENSION)--0.3.0.sql $(wildcard sql/$(EXTENSION)--*--*.sql)

# pg_regress tests, named one by one (sql/ also holds the install script).
# make installcheck runs them on a temporary instance of its own with the
# library preloaded (test/regress.conf), from the installed PostgreSQL and
# extension; initdb refuses root, so run it as another user.  TEMP_INSTANCE=
# (empty) runs them on the server of PGHOST/PGPORT instead, which must
# preload the library: test/run.sh does so on its shared cluster.
REGRESS = schedule_api cron schedules roles channels stats upgrade
TEMP_INSTANCE ?= tmp_check
REGRESS_OPTS = --load-extension=$(EXTENSION)
ifneq ($(TEMP_INSTANCE),)
REGRESS_OPTS += --temp-instance=$(TEMP_INSTANCE) --temp-config=$(srcdir)/test/regress.conf
endif

# -Wno-unused-parameter: PostgreSQL's callback signatures (hooks, signal
# handlers, transaction callbacks) have parameters we do not use.
PG_CPPFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter
PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS does not track headers: rebuild everything when one changes.
$(OBJS): $(wildcard src/*.h)

sql/$(EXTENSION)--$(EXTVERSION).sql: sql/$(EXTENSION).sql
	cp $< $@

# initdb refuses root: say so before pg_regress fails on it.
ifneq ($(TEMP_INSTANCE),)
installcheck: temp-instance-not-root
.PHONY: temp-instance-not-root
temp-instance-not-root:
	@if [ "$$(id -u)" = 0 ]; then \
		echo "make installcheck: initdb refuses root; run it as another user," >&2; \
		echo "or with TEMP_INSTANCE= on a running server that preloads the library" >&2; \
		exit 1; \
	fi
endif
