"""``uccerts phones …``: the simulated phones and their registration (the seed's RTMT)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from uccerts.cli.common import control, emit_json, handled, say, table
from uccerts.domain.control import ALL_PHONES

if TYPE_CHECKING:
    from uccerts.services.control import Blocking


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Phones of the running cluster: status, reset, ITL recovery.",
                        no_args_is_help=True)
    app.add_typer(group, name="phones")

    @group.command("status")
    def status(
        ctx: typer.Context,
        all_phones: bool = typer.Option(False, "--phones", help="List every phone too"),
        wait: bool = typer.Option(False, "--wait",
                                  help="First wait until no phone is resetting"),
        timeout: float = typer.Option(120.0, "--timeout", help="Seconds to wait at most"),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON document"),
    ) -> None:
        """Registration counts per node and state (and each phone with --phones)."""
        with handled(as_json):
            client = control(ctx)
            if wait:
                client.run(lambda port, who: port.wait_registration(who, timeout))
            result = client.run(lambda port, who: port.phones_status(who)).to_dict()
            if as_json:
                emit_json(result)
                return
            _print_counts(result)
            if all_phones:
                table(["MAC", "Node", "State", "Reason"],
                      [[p["mac"], p["node"], p["state"], p["reason"]]
                       for p in result["phones"]])

    @group.command("reset")
    def reset(
        ctx: typer.Context,
        node: str | None = typer.Option(None, "--node", help="Only phones of this node"),
        wait: bool = typer.Option(False, "--wait", help="Wait until every phone settled"),
        timeout: float = typer.Option(120.0, "--timeout", help="Seconds to wait at most"),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON document"),
    ) -> None:
        """Reset phones: they fetch the ITL and config again and re-register."""
        with handled(as_json):
            client = control(ctx)
            result = client.run(lambda port, who: port.reset_phones(
                who, node, wait=timeout if wait and as_json else None)).to_dict()
            if wait and not as_json:
                result.update(_watch(client, timeout))
            _report(result, f"{result['reset']} phone(s) reset", as_json, wait)

    @group.command("delete-itl")
    def delete_itl(
        ctx: typer.Context,
        macs: list[str] = typer.Argument(None, help="MACs of the phones (SEP prefix optional)"),
        all_phones: bool = typer.Option(False, "--all", help="Every phone of the cluster"),
        wait: bool = typer.Option(False, "--wait", help="Wait until every phone settled"),
        timeout: float = typer.Option(120.0, "--timeout", help="Seconds to wait at most"),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON document"),
    ) -> None:
        """Erase the ITL (and CTL) on phones, as from their Security menu; they reset."""
        with handled(as_json):
            client = control(ctx)
            chosen: list[str] | str = ALL_PHONES if all_phones else list(macs or ())
            result = client.run(lambda port, who: port.delete_itl(
                who, chosen, wait=timeout if wait and as_json else None)).to_dict()
            if wait and not as_json:
                result.update(_watch(client, timeout))
            _report(result, f"ITL deleted on {result['deleted']} phone(s); they reset",
                    as_json, wait)

    @group.command("history")
    def history(
        ctx: typer.Context,
        as_json: bool = typer.Option(False, "--json", help="Print one JSON document"),
    ) -> None:
        """Registration counts over time (one sample per second while they change)."""
        with handled(as_json):
            samples = [s.to_dict() for s in
                       control(ctx).run(lambda port, who: port.phones_history(who))]
            if as_json:
                emit_json(samples)
                return
            table(["Time", "Registered", "Unregistered", "Rejected", "Resetting"],
                  [[s["at"], *(str(s["by_state"][k]) for k in
                               ("REGISTERED", "UNREGISTERED", "REJECTED", "RESETTING"))]
                   for s in samples])


def _wait(client: Blocking, timeout: float) -> dict[str, Any]:
    return client.run(lambda port, who: port.wait_registration(who, timeout)).to_dict()


def _watch(client: Blocking, timeout: float) -> dict[str, Any]:
    """Wait for the phones with a live bar of how many have settled (on a terminal)."""
    import time

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    deadline = time.monotonic() + timeout
    console = Console(stderr=True)
    if not console.is_terminal:
        final = _wait(client, timeout)
        return {"settled": final["settled"], "status": final["status"]}
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), transient=True, console=console) as bar:
        task = bar.add_task("Phones re-registering", total=None)
        while True:
            status = client.run(lambda port, who: port.phones_status(who)).to_dict()
            counts = status["by_state"]
            bar.update(task, total=status["total"],
                       completed=status["total"] - counts["RESETTING"],
                       description=f"Registered {counts['REGISTERED']}, "
                                   f"rejected {counts['REJECTED']}")
            if counts["RESETTING"] == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.25)
    # Exact at the end: no phone resetting or still registering.
    final = _wait(client, max(1.0, deadline - time.monotonic()))
    return {"settled": final["settled"], "status": final["status"]}


def _print_counts(result: dict[str, Any]) -> None:
    states = ("REGISTERED", "UNREGISTERED", "REJECTED", "RESETTING")
    rows = [[node, *(str(counts[s]) for s in states)]
            for node, counts in result["by_node"].items()]
    rows.append(["total", *(str(result["by_state"][s]) for s in states)])
    table(["Node", "Registered", "Unregistered", "Rejected", "Resetting"], rows)
    reasons: dict[str, int] = {}
    for p in result["phones"]:
        if p["reason"]:
            reasons[p["reason"]] = reasons.get(p["reason"], 0) + 1
    for reason, n in sorted(reasons.items()):
        say(f"{n} phone(s): {reason}")


def _report(result: dict[str, Any], headline: str, as_json: bool, wait: bool) -> None:
    if as_json:
        emit_json(result)
        return
    say(headline)
    if wait:
        if not result.get("settled"):
            say("Some phones had not settled when the wait ended.")
        _print_counts(result["status"])
