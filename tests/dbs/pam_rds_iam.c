/* pam_rds_iam.so — PAM module for the local PostgreSQL: hands PAM_AUTHTOK (the RDS IAM token) to the
 * verifier on stdin, like tests/dbs/aws_auth.c does for MariaDB. pam_exec cannot: it passes at most
 * 511 bytes of a password, and a token signed with STS session credentials is longer.
 *
 *   auth required /path/pam_rds_iam.so /path/rds_iam_verify.py /path/config.json
 *
 * The verifier gets "--config CONFIG [--replication] USER" as arguments; exit status 0 accepts the login.
 * "--replication": the login opens a logical replication connection (the backend's am_db_walsender, found
 * with dlsym in the postgres executable), so the local IAM can emulate rds.iam_auth_for_replication.
 * Linux-PAM's few declarations are written out here, so building needs no libpam0g-dev:
 *   gcc -shared -fPIC -O2 -o pam_rds_iam.so pam_rds_iam.c -l:libpam.so.0
 */
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>
#include <sys/wait.h>
#include <dlfcn.h>
#include <stdbool.h>

typedef struct pam_handle pam_handle_t;
#define PAM_SUCCESS 0
#define PAM_SERVICE_ERR 3
#define PAM_AUTH_ERR 7
#define PAM_AUTHTOK 6
#define MAX_TOKEN_LEN 4096
extern int pam_get_user(pam_handle_t *pamh, const char **user, const char *prompt);
extern int pam_get_authtok(pam_handle_t *pamh, int item, const char **authtok, const char *prompt);

/* Does this backend serve a logical replication connection (replication=database)? */
static bool db_walsender(void)
{
  const bool *flag = (const bool *) dlsym(RTLD_DEFAULT, "am_db_walsender");
  return flag != NULL && *flag;
}

static int run_verifier(const char *verifier, const char *config, const char *user, const char *token)
{
  int fd[2], status = 0;
  size_t len = strlen(token);
  pid_t pid;
  void (*old)(int);
  if (pipe(fd) != 0)
    return -1;
  old = signal(SIGPIPE, SIG_IGN);
  pid = fork();
  if (pid == 0) {
    char *argv[6] = { (char *) verifier, "--config", (char *) config, (char *) user, NULL, NULL };
    if (db_walsender()) {
      argv[3] = "--replication";
      argv[4] = (char *) user;
    }
    dup2(fd[0], STDIN_FILENO);
    close(fd[0]);
    close(fd[1]);
    execv(verifier, argv);
    _exit(2);
  }
  close(fd[0]);
  if (pid > 0 && write(fd[1], token, len) != (ssize_t) len)
    status = -1;
  close(fd[1]);
  if (pid > 0 && waitpid(pid, &status, 0) != pid)
    status = -1;
  signal(SIGPIPE, old);
  if (pid < 0 || status == -1)
    return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
  const char *user = NULL, *token = NULL;
  (void) flags;
  if (argc != 2)
    return PAM_SERVICE_ERR;
  if (pam_get_user(pamh, &user, NULL) != PAM_SUCCESS || user == NULL)
    return PAM_AUTH_ERR;
  if (pam_get_authtok(pamh, PAM_AUTHTOK, &token, NULL) != PAM_SUCCESS || token == NULL)
    return PAM_AUTH_ERR;
  if (token[0] == '\0' || strlen(token) > MAX_TOKEN_LEN)
    return PAM_AUTH_ERR;
  return run_verifier(argv[0], argv[1], user, token) == 0 ? PAM_SUCCESS : PAM_AUTH_ERR;
}

int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
  (void) pamh; (void) flags; (void) argc; (void) argv;
  return PAM_SUCCESS;
}
