# %% [markdown]
# # 02_backprop

# %%
print(1)
