/* commands.h — the subcommands of the `moevk` CLI, one file each (cmd_<name>.c).
 * Each returns the process exit code: 0 ok, 1 runtime failure, 2 usage error. */
#ifndef MOEVK_CLI_COMMANDS_H
#define MOEVK_CLI_COMMANDS_H

typedef struct cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
} cli_command;

int cmd_devices(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_caption(int argc, char **argv);
int cmd_chat(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_plan(int argc, char **argv);
/* `moevk bench model` (bench_model.c) */
int bench_model(int argc, char **argv);

#endif
