/*
 * listener.c
 *		A LISTEN client for the benchmarks, timestamping every notification.
 *
 * usage: listener CONNINFO READY_FILE OUT_FILE COUNT TIMEOUT_S CHANNEL...
 *
 * Connects, LISTENs on each channel, then creates READY_FILE (so the script
 * knows nothing sent from now on can be missed).  Every notification is
 * timestamped with clock_gettime(CLOCK_REALTIME) the moment libpq hands it
 * over: the same clock the server's clock_timestamp() reads on this machine.
 * Unless OUT_FILE is "-", writes one line per notification:
 *		receipt_epoch_microseconds TAB channel TAB payload
 * Stops after COUNT notifications, or TIMEOUT_S seconds after the start, and
 * prints "count first_us last_us" on stdout.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>

#include <libpq-fe.h>

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int
main(int argc, char **argv)
{
	PGconn	   *conn;
	FILE	   *out = NULL;
	FILE	   *ready;
	long		want;
	long		got = 0;
	int64_t		deadline;
	int64_t		first = 0,
				last = 0;
	int			sock;

	if (argc < 7)
	{
		fprintf(stderr, "usage: %s CONNINFO READY_FILE OUT_FILE COUNT TIMEOUT_S CHANNEL...\n", argv[0]);
		return 2;
	}
	want = atol(argv[4]);
	deadline = now_us() + (int64_t) (atof(argv[5]) * 1e6);

	conn = PQconnectdb(argv[1]);
	if (PQstatus(conn) != CONNECTION_OK)
	{
		fprintf(stderr, "listener: %s", PQerrorMessage(conn));
		return 1;
	}
	for (int i = 6; i < argc; i++)
	{
		char	   *ident = PQescapeIdentifier(conn, argv[i], strlen(argv[i]));
		char		sql[256];
		PGresult   *res;

		snprintf(sql, sizeof(sql), "LISTEN %s", ident);
		PQfreemem(ident);
		res = PQexec(conn, sql);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
		{
			fprintf(stderr, "listener: %s", PQerrorMessage(conn));
			return 1;
		}
		PQclear(res);
	}
	if (strcmp(argv[3], "-") != 0 && (out = fopen(argv[3], "w")) == NULL)
	{
		perror(argv[3]);
		return 1;
	}
	if ((ready = fopen(argv[2], "w")) == NULL)
	{
		perror(argv[2]);
		return 1;
	}
	fclose(ready);

	sock = PQsocket(conn);
	while (got < want)
	{
		PGnotify   *n;
		int64_t		t = now_us();
		fd_set		fds;
		struct timeval tv;

		if (t >= deadline)
			break;
		FD_ZERO(&fds);
		FD_SET(sock, &fds);
		tv.tv_sec = (deadline - t) / 1000000;
		tv.tv_usec = (deadline - t) % 1000000;
		if (select(sock + 1, &fds, NULL, NULL, &tv) < 0)
		{
			if (errno == EINTR)
				continue;
			perror("select");
			return 1;
		}
		if (!PQconsumeInput(conn))
		{
			fprintf(stderr, "listener: %s", PQerrorMessage(conn));
			return 1;
		}
		t = now_us();
		while ((n = PQnotifies(conn)) != NULL)
		{
			if (got == 0)
				first = t;
			last = t;
			got++;
			if (out)
				fprintf(out, "%lld\t%s\t%s\n", (long long) t, n->relname, n->extra);
			PQfreemem(n);
		}
	}
	if (out)
		fclose(out);
	printf("%ld %lld %lld\n", got, (long long) first, (long long) last);
	PQfinish(conn);
	return got < want ? 3 : 0;
}
