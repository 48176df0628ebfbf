// Reads a state machine's MoveNext IL to learn, for each await, the state it suspends with, the field it parks its
// awaiter in, and the call whose result it awaits.
//
// WHY THE IL. A suspended state machine holds its state number (<>1__state) and its awaiter in one of its <>u__N fields;
// which field belongs to which state, and which IL offset (hence line) a state stands for, is written nowhere but in
// the code the compiler emitted. Every await suspends with the same few instructions, in Debug and Release alike:
//
//     call     Task Exporter::WriteAsync(...)        <- the call whose result is awaited (optional: `await t` has none)
//    [ldc.i4.0; callvirt ConfigureAwait(bool)]       <- optional, also with stloc/ldloca around a ValueTask
//     callvirt TaskAwaiter Task::GetAwaiter()
//     stloc.1 ; ldloca.s 1 ; call get_IsCompleted ; brtrue.s RESUME
//     ldarg.0 ; ldc.i4.N ; dup ; stloc.0 ; stfld <>1__state       <- state N, at this offset
//     ldarg.0 ; ldloc.1 ; stfld <>u__K                             <- the awaiter of state N lives in <>u__K
//     ... AwaitUnsafeOnCompleted ...                               <- the PDB's yield offset for this await follows
//
// The scan decodes the IL linearly, finds each store of a constant N >= 0 into <>1__state, and the <>u__ store right
// after it. Negative constants are not awaits (-1 running, -2 finished, -3 and below an async iterator's yield return).
// Anything that does not match (another compiler, an obfuscator) is simply not found: the walker then falls back to the
// one non-default awaiter field and reports the line as unknown. It never guesses a line.
using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Reflection.Emit;

namespace Corral.Diagnostics.Stacks;

/// <summary>Finds the awaits of a state machine's <c>MoveNext</c> in its IL. Thread-safe (pure, apart from a read-only table).</summary>
internal static class MoveNextScanner
{
    /// <summary>Every IL opcode by value (two-byte ones as 0xFE00 | second byte).</summary>
    private static readonly Dictionary<int, OpCode> s_opCodes = BuildTable();

    /// <summary>Scans <paramref name="moveNext"/> of <paramref name="stateMachineType"/>.</summary>
    /// <returns>The awaits in IL order; empty when the IL is unavailable or nothing matched.</returns>
    [UnconditionalSuppressMessage("Trimming", "IL2026:RequiresUnreferencedCode",
        Justification = "Best effort at snapshot time: when trimming removed the metadata, no await is found and lines are unknown.")]
    internal static List<ScannedAwait> Scan(MethodInfo moveNext, Type stateMachineType)
    {
        var found = new List<ScannedAwait>();
        byte[]? il;
        try
        {
            il = moveNext.GetMethodBody()?.GetILAsByteArray();
        }
        catch (Exception e) when (e is InvalidOperationException or NotSupportedException or BadImageFormatException)
        {
            il = null;
        }

        if (il is null)
        {
            return found;
        }

        var code = Decode(il);
        if (code is null)
        {
            return found;
        }

        var module = moveNext.Module;
        var typeArgs = stateMachineType.IsGenericType ? stateMachineType.GetGenericArguments() : null;
        for (var i = 0; i < code.Count; i++)
        {
            if (code[i].Op != OpCodes.Stfld.Value || Resolve(module, code[i].Operand, typeArgs) is not FieldInfo { Name: "<>1__state" })
            {
                continue;
            }

            var state = ConstantBefore(code, i);
            if (state is not { } n || n < 0)
            {
                continue;
            }

            string? awaiter = null;
            for (var j = i + 1; j < code.Count && j <= i + 8; j++)
            {
                if (code[j].Op == OpCodes.Stfld.Value && Resolve(module, code[j].Operand, typeArgs) is FieldInfo { Name: var name } && name.StartsWith("<>u__", StringComparison.Ordinal))
                {
                    awaiter = name;
                    break;
                }
            }

            found.Add(new ScannedAwait(n, code[i].Offset, awaiter, CallBefore(code, i, module, typeArgs)));
        }

        return found;
    }

    /// <summary>The constant stored by the <c>stfld</c> at <paramref name="store"/>: <c>ldc.i4 N</c>, optionally followed by <c>dup; stloc</c>.</summary>
    private static int? ConstantBefore(List<Instruction> code, int store)
    {
        var k = store - 1;
        while (k >= 0 && (code[k].Op == OpCodes.Dup.Value || IsStloc(code[k].Op)))
        {
            k--;
        }

        return k >= 0 ? Constant(code[k]) : null;
    }

    /// <summary>The call whose result the await before the state store at <paramref name="store"/> awaits, or null.</summary>
    private static MethodBase? CallBefore(List<Instruction> code, int store, Module module, Type[]? typeArgs)
    {
        // Back to the GetAwaiter call of this await (within a few instructions: stloc, ldloca, get_IsCompleted, brtrue, ldarg, ldc).
        for (var k = store - 1; k >= 0 && k >= store - 12; k--)
        {
            if (IsCall(code[k].Op) && Resolve(module, code[k].Operand, typeArgs) is MethodBase { Name: "GetAwaiter" })
            {
                return Producer(code, k - 1, module, typeArgs, hops: 0);
            }
        }

        return null;
    }

    /// <summary>The call that left the value consumed at <paramref name="k"/> + 1 on the stack, seen through ConfigureAwait and stloc/ldloca pairs.</summary>
    private static MethodBase? Producer(List<Instruction> code, int k, Module module, Type[]? typeArgs, int hops)
    {
        if (k < 0 || hops > 4)
        {
            return null;
        }

        var instruction = code[k];
        if (IsLdloca(instruction.Op, out var slot) && k > 0 && IsStloc(code[k - 1].Op, out var stored) && stored == slot)
        {
            return Producer(code, k - 2, module, typeArgs, hops + 1);
        }

        if (!IsCall(instruction.Op) || Resolve(module, instruction.Operand, typeArgs) is not MethodBase method)
        {
            return null;
        }

        if (method.Name == "ConfigureAwait" && k > 0 && Constant(code[k - 1]) is not null)
        {
            return Producer(code, k - 2, module, typeArgs, hops + 1);
        }

        return method;
    }

    [UnconditionalSuppressMessage("Trimming", "IL2026:RequiresUnreferencedCode",
        Justification = "Best effort at snapshot time: an unresolvable token is treated as no match.")]
    private static MemberInfo? Resolve(Module module, long token, Type[]? typeArgs)
    {
        try
        {
            return module.ResolveMember((int)token, typeArgs, null);
        }
        catch (Exception e) when (e is ArgumentException or BadImageFormatException or MissingMemberException or TypeLoadException or NotSupportedException or InvalidOperationException)
        {
            return null;
        }
    }

    private static int? Constant(Instruction instruction)
    {
        var op = instruction.Op;
        if (op >= OpCodes.Ldc_I4_M1.Value && op <= OpCodes.Ldc_I4_8.Value)
        {
            return op - OpCodes.Ldc_I4_0.Value;
        }

        return op == OpCodes.Ldc_I4_S.Value || op == OpCodes.Ldc_I4.Value ? (int)instruction.Operand : null;
    }

    private static bool IsCall(short op) => op == OpCodes.Call.Value || op == OpCodes.Callvirt.Value;

    private static bool IsStloc(short op) => IsStloc(op, out _);

    private static bool IsStloc(short op, out long slot)
    {
        slot = op - OpCodes.Stloc_0.Value;
        if (op >= OpCodes.Stloc_0.Value && op <= OpCodes.Stloc_3.Value)
        {
            return true;
        }

        slot = -1;
        return op == OpCodes.Stloc_S.Value || op == OpCodes.Stloc.Value;
    }

    private static bool IsLdloca(short op, out long slot)
    {
        slot = -1;
        return op == OpCodes.Ldloca_S.Value || op == OpCodes.Ldloca.Value;
    }

    /// <summary>Decodes the IL into instructions; null when it contains an opcode this table does not know.</summary>
    private static List<Instruction>? Decode(byte[] il)
    {
        var list = new List<Instruction>(il.Length / 2);
        var at = 0;
        while (at < il.Length)
        {
            var start = at;
            int value = il[at++];
            if (value == 0xFE)
            {
                if (at >= il.Length)
                {
                    return null;
                }

                value = 0xFE00 | il[at++];
            }

            if (!s_opCodes.TryGetValue(value, out var op))
            {
                return null;
            }

            var size = OperandSize(op.OperandType);
            if (at + size > il.Length)
            {
                return null;
            }

            long operand = size switch
            {
                0 => 0,
                1 => op.OperandType == OperandType.ShortInlineI ? (sbyte)il[at] : il[at],
                2 => BitConverter.ToUInt16(il, at),
                8 => BitConverter.ToInt64(il, at),
                _ => BitConverter.ToInt32(il, at),
            };
            at += size;
            if (op.OperandType == OperandType.InlineSwitch)
            {
                at += 4 * (int)operand; // the operand is the count of the 32-bit targets that follow
            }

            list.Add(new Instruction(start, op.Value, operand));
        }

        return list;
    }

    /// <summary>The bytes an instruction's operand takes after its opcode (a switch's targets not included).</summary>
    private static int OperandSize(OperandType type) => type switch
    {
        OperandType.InlineNone => 0,
        OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
        OperandType.InlineVar => 2,
        OperandType.InlineI8 or OperandType.InlineR => 8,
        _ => 4, // tokens, 32-bit branches and constants, ShortInlineR, a switch's count
    };

    private static Dictionary<int, OpCode> BuildTable()
    {
        var table = new Dictionary<int, OpCode>();
        foreach (var field in typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            if (field.GetValue(null) is OpCode op)
            {
                table[op.Size == 1 ? op.Value & 0xFF : op.Value & 0xFFFF] = op;
            }
        }

        return table;
    }

    /// <summary>One decoded instruction.</summary>
    private readonly record struct Instruction(int Offset, short Op, long Operand);
}
