# %% [markdown]
# # 06_recurrent

# %%
print(1)
