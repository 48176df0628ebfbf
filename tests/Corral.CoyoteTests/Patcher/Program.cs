// Makes Corral.dll explorable by Coyote 1.7.11, which predates ConfigureAwaitOptions: its rewritten awaiter ignores
// SuppressThrowing, so `await task.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing)` throws inside Coyote and
// crashes the test host ("An attempt was made to transition a task to a final state when it had already completed").
// This tool, run on the test output folder before Coyote rewrites it, replaces each call to
// Task.ConfigureAwait(ConfigureAwaitOptions) with a call to CoyoteShims.ConfigureAwait (its own assembly: a reference from
// Corral.dll to the test assembly would be a cycle, which Coyote refuses), which keeps
// the meaning (a task that never throws, awaited with the same context choice) using only what Coyote models.
// Usage: Corral.CoyoteTests.Patcher <assembly to patch> <Corral.CoyoteTests.Shims.dll>
using System;
using System.IO;
using System.Linq;
using Mono.Cecil;
using Mono.Cecil.Cil;

if (args.Length != 2)
{
    Console.Error.WriteLine("usage: Corral.CoyoteTests.Patcher <assembly to patch> <shim assembly>");
    return 2;
}

var target = args[0];
var resolver = new DefaultAssemblyResolver();
resolver.AddSearchDirectory(Path.GetDirectoryName(Path.GetFullPath(target))!);
var hasSymbols = File.Exists(Path.ChangeExtension(target, ".pdb"));
using var module = ModuleDefinition.ReadModule(
    target,
    new ReaderParameters { InMemory = true, ReadSymbols = hasSymbols, AssemblyResolver = resolver });
using var shimModule = ModuleDefinition.ReadModule(args[1], new ReaderParameters { AssemblyResolver = resolver });
var shim = shimModule.GetType("Corral.CoyoteTests.Shims.CoyoteShims")?.Methods.SingleOrDefault(m => m.Name == "ConfigureAwait")
    ?? throw new InvalidOperationException("Corral.CoyoteTests.Shims.CoyoteShims.ConfigureAwait not found");
MethodReference? imported = null;
var patched = 0;
foreach (var type in module.GetTypes())
{
    foreach (var method in type.Methods.Where(m => m.HasBody))
    {
        foreach (var instruction in method.Body.Instructions)
        {
            if ((instruction.OpCode == OpCodes.Callvirt || instruction.OpCode == OpCodes.Call)
                && instruction.Operand is MethodReference callee
                && callee.Name == "ConfigureAwait"
                && callee.DeclaringType.FullName == "System.Threading.Tasks.Task"
                && callee.Parameters.Count == 1
                && callee.Parameters[0].ParameterType.FullName == "System.Threading.Tasks.ConfigureAwaitOptions")
            {
                instruction.OpCode = OpCodes.Call;
                instruction.Operand = imported ??= module.ImportReference(shim);
                patched++;
            }
        }
    }
}

if (patched > 0)
{
    module.Write(target, new WriterParameters { WriteSymbols = hasSymbols });
}

Console.WriteLine($"{Path.GetFileName(target)}: {patched} ConfigureAwait(ConfigureAwaitOptions) call(s) redirected to CoyoteShims");
return 0;
