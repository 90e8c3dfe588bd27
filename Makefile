# scheduled_jobs: build with PGXS.  The version lives here only.
EXTENSION = scheduled_jobs
EXTVERSION = 0.2.0
MODULE_big = scheduled_jobs

OBJS = \
	src/scheduled_jobs.o \
	src/guc.o \
	src/shmem.o \
	src/launcher.o \
	src/scheduler.o \
	src/api.o \
	src/utility.o \
	src/envelope.o \
	src/worker.o \
	src/executor.o

DATA_built = sql/$(EXTENSION)--$(EXTVERSION).sql
# released install scripts, kept to test upgrades from them, and the upgrades
DATA = sql/$(EXTENSION)--0.1.0.sql $(wildcard sql/$(EXTENSION)--*--*.sql)

# pg_regress tests, named one by one (sql/ also holds the install script).
REGRESS = schedule_api roles upgrade
REGRESS_OPTS = --load-extension=$(EXTENSION)
EXTRA_CLEAN = $(EXTENSION).control

PG_CPPFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare
PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS does not track headers: rebuild everything when one changes.
$(OBJS): $(wildcard src/*.h)

sql/$(EXTENSION)--$(EXTVERSION).sql: sql/$(EXTENSION).sql
	cp $< $@

$(EXTENSION).control: $(EXTENSION).control.in Makefile
	sed 's/@EXTVERSION@/$(EXTVERSION)/' $< > $@

all: $(EXTENSION).control
