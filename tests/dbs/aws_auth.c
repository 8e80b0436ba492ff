/*
 * aws_auth.c — test double of Amazon RDS's AWSAuthenticationPlugin, as a MariaDB server auth plugin.
 *
 *   INSTALL SONAME 'aws_auth';
 *   CREATE USER 'alice'@'%' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS';
 *
 * Like on RDS, the client sends the IAM auth token in clear text (client plugin
 * "mysql_clear_password", so the connection must use TLS). The plugin runs the program named by
 * $RDS_IAM_VERIFIER with the user name as argv[1] and the token on stdin, and accepts the login
 * iff it exits 0 within VERIFIER_TIMEOUT_MS. Without $RDS_IAM_VERIFIER every login is refused.
 * The verifier inherits the server's environment (e.g. $RDS_IAM_CONFIG) and its stderr goes to
 * the server's error log.
 *
 * Build: gcc -shared -fPIC -O2 -DMYSQL_DYNAMIC_PLUGIN -I <mariadb server headers> -o aws_auth.so aws_auth.c
 */
#define _GNU_SOURCE
#include <mysql/plugin_auth.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#define VERIFIER_TIMEOUT_MS 10000
#define MAX_TOKEN_LEN 8192

/* Start the verifier with the token on its stdin; returns its pid or -1. */
static pid_t spawn_verifier(const char *verifier, const char *user,
                            const unsigned char *token, int len)
{
  int fd[2];
  pid_t pid;

  if (pipe2(fd, O_CLOEXEC))
    return -1;
  pid = fork();
  if (pid == 0) {
    char *argv[3] = { (char *) verifier, (char *) user, NULL };
    dup2(fd[0], STDIN_FILENO);         /* dup2 clears O_CLOEXEC on fd 0 */
    close_range(3, ~0U, 0);            /* do not leak the server's sockets and files */
    execv(verifier, argv);
    _exit(127);
  }
  close(fd[0]);
  if (pid > 0 && write(fd[1], token, (size_t) len) != len) {
    /* the verifier refuses a short token by itself */
  }
  close(fd[1]);
  return pid;
}

/* Wait for pid; 1 if it exited with status 0, else 0 (killed after the timeout). */
static int verifier_accepted(pid_t pid)
{
  int status, waited_ms = 0;
  const struct timespec tick = { 0, 10 * 1000 * 1000 };

  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid)
      return WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (r < 0 && errno != EINTR)
      return 0;
    if (waited_ms >= VERIFIER_TIMEOUT_MS) {
      fprintf(stderr, "aws_auth: verifier timed out, killing pid %d\n", (int) pid);
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return 0;
    }
    nanosleep(&tick, NULL);
    waited_ms += 10;
  }
}

static int aws_auth_authenticate(MYSQL_PLUGIN_VIO *vio, MYSQL_SERVER_AUTH_INFO *info)
{
  unsigned char *token;
  int len;
  pid_t pid;
  const char *verifier = getenv("RDS_IAM_VERIFIER");

  /* The server switches the client to mysql_clear_password; the reply is the token + NUL. */
  len = vio->read_packet(vio, &token);
  if (len < 0)
    return CR_ERROR;
  info->password_used = PASSWORD_USED_YES;
  if (!verifier || !*verifier) {
    fprintf(stderr, "aws_auth: RDS_IAM_VERIFIER is not set, refusing '%s'\n", info->user_name);
    return CR_ERROR;
  }
  if (len == 0 || len > MAX_TOKEN_LEN)
    return CR_ERROR;
  /* info->user_name is known only after the first read_packet. */
  pid = spawn_verifier(verifier, info->user_name, token, len);
  if (pid < 0)
    return CR_ERROR;
  return verifier_accepted(pid) ? CR_OK : CR_ERROR;
}

static struct st_mysql_auth aws_auth_handler = {
  MYSQL_AUTHENTICATION_INTERFACE_VERSION,
  "mysql_clear_password",   /* client plugin the server asks for */
  aws_auth_authenticate,
  NULL, NULL                /* no hash_password / preprocess_hash: the AS '...' string is ignored */
};

maria_declare_plugin(aws_auth)
{
  MYSQL_AUTHENTICATION_PLUGIN,
  &aws_auth_handler,
  "AWSAuthenticationPlugin",
  "clickpipes-localdbs",
  "Test double of RDS IAM database authentication (token checked by $RDS_IAM_VERIFIER)",
  PLUGIN_LICENSE_GPL,
  NULL, NULL,               /* init, deinit */
  0x0100,
  NULL, NULL,               /* status variables, system variables */
  "1.0",
  MariaDB_PLUGIN_MATURITY_STABLE   /* EXPERIMENTAL plugins are refused by default */
}
maria_declare_plugin_end;
