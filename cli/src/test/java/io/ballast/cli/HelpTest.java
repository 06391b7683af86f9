package io.ballast.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;

/** Every command, option and parameter says what it is in --help. */
class HelpTest {
    private static List<CommandLine> all(CommandLine commandLine) {
        List<CommandLine> all = new ArrayList<>(List.of(commandLine));
        commandLine.getSubcommands().values().forEach(sub -> all.addAll(all(sub)));
        return all;
    }

    @Test
    void everyCommandOptionAndParameterIsDescribed() {
        List<String> undescribed = new ArrayList<>();
        for (CommandLine commandLine : all(Cli.commandLine(List.of("false")))) {
            CommandSpec spec = commandLine.getCommandSpec();
            if (spec.usageMessage().description().length == 0) {
                undescribed.add(spec.qualifiedName());
            }
            List<ArgSpec> args = new ArrayList<>(spec.options());
            args.addAll(spec.positionalParameters());
            for (ArgSpec arg : args) {
                if (arg.description().length == 0 || String.join("", arg.description()).isBlank()) {
                    undescribed.add(spec.qualifiedName() + " " + (arg.isOption()
                            ? ((CommandLine.Model.OptionSpec) arg).longestName() : arg.paramLabel()));
                }
            }
        }
        assertThat(undescribed).isEmpty();
    }

    @Test
    void newCommandsAnswerHelp() {
        for (String[] command : List.of(new String[] {"node", "remove", "--help"},
                new String[] {"volume", "ha-update", "--help"}, new String[] {"up", "--help"})) {
            CliRun run = CliRun.run(command);
            assertThat(run.exit()).isZero();
            assertThat(run.out()).startsWith("Usage: ballast " + command[0] + " " + (command.length == 3 ? command[1] : ""));
        }
        assertThat(CliRun.run("volume", "ha-update", "--help").out()).contains("--repl=N", "1, 2 or 3");
        assertThat(CliRun.run("node", "remove", "--help").out()).contains("NODE", "Decommission");
        assertThat(CliRun.run("up", "--help").out()).contains("--nodes=N", "join");
    }
}
